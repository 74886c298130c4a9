"""The retention cut-off and the choice of hours whose raw readings may go (pure)."""

from datetime import UTC, datetime, timedelta

import pytest

from config.settings import Settings
from services.retention.policy import chunks, cutoff, purgeable_ranges

H = timedelta(hours=1)
T0 = datetime(2026, 8, 1, 0, 0, tzinfo=UTC)


def test_cutoff_is_whole_hours_back_and_zero_keeps_everything():
    now = datetime(2026, 11, 26, 10, 42, 7, tzinfo=UTC)
    assert cutoff(now, 90) == datetime(2026, 8, 28, 10, 0, tzinfo=UTC)
    assert cutoff(now, 1) == datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    assert cutoff(now, 0) is None


def test_rolled_clean_hours_before_the_cutoff_merge_into_spans():
    rolled = [T0 + k * H for k in (0, 1, 2, 5, 6)]
    assert purgeable_ranges(rolled, [], T0 + 10 * H) == [(T0, T0 + 3 * H), (T0 + 5 * H, T0 + 7 * H)]


def test_a_dirty_hour_stays_whatever_its_age():
    rolled = [T0 + k * H for k in range(4)]
    assert purgeable_ranges(rolled, [T0 + H], T0 + 10 * H) == [(T0, T0 + H), (T0 + 2 * H, T0 + 4 * H)]


def test_an_hour_never_rolled_up_is_not_in_any_span():
    # Hours 1 and 2 have readings but no hourly row yet: nothing in them may go.
    assert purgeable_ranges([T0, T0 + 3 * H], [], T0 + 10 * H) == [(T0, T0 + H), (T0 + 3 * H, T0 + 4 * H)]


def test_only_hours_that_ended_before_the_cutoff():
    rolled = [T0 + k * H for k in range(5)]
    assert purgeable_ranges(rolled, [], T0 + 3 * H) == [(T0, T0 + 3 * H)]
    assert purgeable_ranges(rolled, [], T0) == []


def test_retention_settings_default_to_90_days_and_refuse_short_parking_windows():
    defaults = Settings.from_env({})
    assert (defaults.air_raw_retention_days, defaults.parking_event_retention_days) == (90, 90)
    assert Settings.from_env({"AIR_RAW_RETENTION_DAYS": "0"}).air_raw_retention_days == 0
    assert Settings.from_env({"PARKING_EVENT_RETENTION_DAYS": "31"}).parking_event_retention_days == 31
    with pytest.raises(ValueError, match="PARKING_EVENT_RETENTION_DAYS"):
        Settings.from_env({"PARKING_EVENT_RETENTION_DAYS": "7"})  # the statistics read up to 31 days back
    with pytest.raises(ValueError, match="AIR_RAW_RETENTION_DAYS"):
        Settings.from_env({"AIR_RAW_RETENTION_DAYS": "-1"})


def test_chunks_cover_every_item_once():
    assert [list(c) for c in chunks(list(range(7)), 3)] == [[0, 1, 2], [3, 4, 5], [6]]
