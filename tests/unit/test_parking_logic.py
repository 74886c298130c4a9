"""The berth state machine, counts, statistics and plan KPIs: pure rules, no services."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.parking.kpis import known_share, off_street_added, smart_share
from services.parking.logic import (
    BerthStatus,
    Detection,
    detection,
    is_silent,
    is_smart_managed,
    next_status,
    reopened_status,
    swept_status,
    tally,
)
from services.parking.stats import hourly_series, occupancy_statistics

NOW = datetime(2026, 5, 6, 4, 0, tzinfo=UTC)  # 12:00 in Heping
FREE, OCCUPIED, CLOSED, UNKNOWN = (s.value for s in BerthStatus)


def ev(boot, seq, occupied=True):
    return {"boot": boot, "seq": seq, "occupied": occupied}


def apply(events, start=(UNKNOWN, None, None)):
    """Fold events through next_status as the store does: only accepted events move (boot, seq)."""
    status, boot, seq = start
    for e in events:
        new = next_status((status, boot, seq), e)
        if new is not None:
            status, boot, seq = str(new), e["boot"], e["seq"]
    return status, boot, seq


# --- sensor events ----------------------------------------------------------------------------------------


def test_first_event_makes_an_unknown_berth_known():
    assert next_status((UNKNOWN, None, None), ev(1, 1, True)) is BerthStatus.OCCUPIED
    assert next_status((UNKNOWN, None, None), ev(1, 1, False)) is BerthStatus.FREE


def test_duplicates_change_nothing():
    assert next_status((OCCUPIED, 1, 5), ev(1, 5, False)) is None
    # The same event delivered three times lands where one delivery does.
    once = apply([ev(1, 1, True), ev(1, 2, False)])
    assert apply([ev(1, 1, True), ev(1, 1, True), ev(1, 2, False), ev(1, 2, False), ev(1, 1, True)]) == once


def test_out_of_order_events_never_roll_state_back():
    assert next_status((FREE, 1, 7), ev(1, 6, True)) is None
    in_order = apply([ev(1, 1, True), ev(1, 2, False), ev(1, 3, True)])
    shuffled = apply([ev(1, 3, True), ev(1, 1, True), ev(1, 2, False)])
    assert in_order == shuffled == (OCCUPIED, 1, 3)


def test_a_reboot_is_newer_even_with_a_lower_seq():
    assert apply([ev(1, 900, True), ev(2, 1, False)]) == (FREE, 2, 1)
    assert apply([ev(2, 1, False), ev(1, 900, True)]) == (FREE, 2, 1)  # the old boot's last word arrives late


def test_a_heartbeat_repeating_the_state_is_accepted():
    assert next_status((OCCUPIED, 1, 5), ev(1, 6, True)) is BerthStatus.OCCUPIED


# --- closed -----------------------------------------------------------------------------------------------


def test_sensors_do_not_reopen_a_closed_berth():
    assert next_status((CLOSED, 1, 5), ev(1, 6, False)) is BerthStatus.CLOSED
    assert apply([ev(1, 6, True), ev(1, 7, False)], start=(CLOSED, 1, 5)) == (CLOSED, 1, 7)


def test_reopening_takes_the_fresh_sensor_word_or_unknown():
    assert reopened_status(True, silent=False, offline=False) is BerthStatus.OCCUPIED
    assert reopened_status(False, silent=False, offline=False) is BerthStatus.FREE
    assert reopened_status(True, silent=True, offline=False) is BerthStatus.UNKNOWN
    assert reopened_status(False, silent=False, offline=True) is BerthStatus.UNKNOWN
    assert reopened_status(None, silent=False, offline=False) is BerthStatus.UNKNOWN  # no sensor


# --- silence and offline ----------------------------------------------------------------------------------


def test_silence_is_measured_against_the_timeout():
    assert not is_silent(NOW - timedelta(seconds=299), NOW, 300)
    assert is_silent(NOW - timedelta(seconds=301), NOW, 300)
    assert is_silent(None, NOW, 300)  # never heard


@pytest.mark.parametrize("status", [FREE, OCCUPIED])
def test_a_silent_or_offline_sensor_makes_its_berth_unknown_not_stale(status):
    assert swept_status(status, silent=True, offline=False) is BerthStatus.UNKNOWN
    assert swept_status(status, silent=False, offline=True) is BerthStatus.UNKNOWN
    assert swept_status(status, silent=False, offline=False) == status


def test_the_sweep_leaves_closed_and_unknown_alone():
    assert swept_status(CLOSED, silent=True, offline=True) is BerthStatus.CLOSED
    assert swept_status(UNKNOWN, silent=True, offline=True) is BerthStatus.UNKNOWN


def test_an_unknown_berth_recovers_with_the_next_newer_event():
    assert next_status((UNKNOWN, 1, 9), ev(1, 10, False)) is BerthStatus.FREE
    assert next_status((UNKNOWN, 1, 9), ev(1, 8, False)) is None  # but not with a late one


# --- detection, counts ------------------------------------------------------------------------------------


def test_detection_and_smart_management():
    assert detection(True, barrier=True) is Detection.SENSOR
    assert detection(False, barrier=True) is Detection.BARRIER
    assert detection(False, barrier=False) is Detection.MANUAL
    assert [is_smart_managed(d) for d in Detection] == [True, True, False]


def test_counts_are_the_sum_of_berths_per_status_and_category():
    counts = tally(
        [
            ("A", "normal", FREE, 3),
            ("A", "disabled", FREE, 1),
            ("A", "normal", OCCUPIED, 2),
            ("B", "normal", UNKNOWN, 4),
        ]
    )
    a = counts["A"]
    assert (a["total"], a["free"], a["occupied"], a["closed"], a["unknown"]) == (6, 4, 2, 0, 0)
    assert a["by_category"]["disabled"] == {"total": 1, "free": 1, "occupied": 0, "closed": 0, "unknown": 0}
    for c in (a, counts["B"], *a["by_category"].values()):
        assert c["total"] == c["free"] + c["occupied"] + c["closed"] + c["unknown"]


# --- statistics -------------------------------------------------------------------------------------------


def test_statistics_from_transitions():
    since, until = NOW - timedelta(hours=4), NOW
    t = lambda minutes: since + timedelta(minutes=minutes)  # noqa: E731
    transitions = {
        # free from the start, arrives at +60, leaves at +90, arrives at +180 and stays
        "A-001": [(t(0), False), (t(60), True), (t(90), False), (t(180), True)],
        # occupied all along (its first event is no arrival)
        "A-002": [(t(0), True)],
    }
    stats = occupancy_statistics(transitions, since, until, ZoneInfo("Asia/Shanghai"))
    assert stats["arrivals"] == 2 and stats["departures"] == 1
    assert stats["mean_dwell_minutes"] == 30.0  # only the completed stay
    assert stats["occupancy_rate"] == round((30 + 60 + 240) / 480, 4)
    assert stats["turnover_per_berth_per_day"] == round(2 / 2 / (4 / 24), 3)
    local_hours = [(since + timedelta(minutes=m)).astimezone(ZoneInfo("Asia/Shanghai")).hour for m in (60, 180)]
    assert stats["peak_hours"] == sorted(local_hours)
    assert sum(stats["arrivals_by_hour"]) == 2


def test_statistics_with_no_events():
    stats = occupancy_statistics({}, NOW - timedelta(hours=1), NOW, UTC)
    assert stats["occupancy_rate"] is None and stats["mean_dwell_minutes"] is None and stats["peak_hours"] == []


def test_hourly_series_sums_facilities_then_averages_the_hour():
    def snap(minute, occupied, facility):
        return {
            "taken_at": NOW + timedelta(minutes=minute),
            "facility_id": facility,
            "total": 10,
            "free": 10 - occupied,
            "occupied": occupied,
            "closed": 0,
            "unknown": 0,
        }

    series = hourly_series([snap(0, 2, "A"), snap(0, 4, "B"), snap(5, 6, "A"), snap(5, 8, "B"), snap(65, 1, "A")])
    assert [h["samples"] for h in series] == [2, 1]
    assert series[0]["occupied"] == 10.0 and series[0]["total"] == 20.0  # (6 + 14) / 2
    assert series[0]["occupancy_rate"] == 0.5


# --- plan KPIs --------------------------------------------------------------------------------------------


def inventory_row(facility, subdistrict, kind, barrier, opened, has_sensor, berths):
    return {
        "facility_id": facility,
        "subdistrict_id": subdistrict,
        "kind": kind,
        "barrier": barrier,
        "opened": opened,
        "has_sensor": has_sensor,
        "berths": berths,
    }


INVENTORY = [
    inventory_row("A", "north", "garage", True, 2016, True, 60),  # sensors
    inventory_row("A", "north", "garage", True, 2016, False, 40),  # barrier-counted
    inventory_row("B", "south", "off_street", False, 2018, False, 100),  # manual
    inventory_row("C", "south", "on_street", False, 2018, True, 50),  # on-street: not "off-street added"
]


def test_smart_share_counts_sensor_and_barrier_berths():
    share = smart_share(INVENTORY)
    assert share["target"] == 0.75
    assert share["district"] == {"smart_managed": 150, "berths": 250, "share": 0.6, "meets_target": False}
    assert share["subdistricts"]["north"]["share"] == 1.0 and share["subdistricts"]["north"]["meets_target"]
    assert share["subdistricts"]["south"]["share"] == round(50 / 150, 4)


def test_off_street_berths_added_per_year():
    added = off_street_added(INVENTORY, current_year=2019)
    years = {y["year"]: y for y in added["years"]}
    assert list(years) == [2016, 2017, 2018, 2019, 2020]
    assert years[2016]["berths"] == 100 and years[2016]["car_parks"] == 1
    assert years[2018]["berths"] == 100  # the kerb segment C does not count
    assert years[2017]["berths"] == 0 and not years[2017]["meets_target"]
    assert added["new_car_parks"] == {"target": 11, "opened": 2}


def test_known_share_from_live_counts():
    facilities = [
        {"subdistrict_id": "north", "total": 10, "free": 3, "occupied": 4, "closed": 1, "unknown": 2},
        {"subdistrict_id": "south", "total": 10, "free": 0, "occupied": 0, "closed": 0, "unknown": 10},
    ]
    share = known_share(facilities)
    assert share["district"] == {"known": 8, "berths": 20, "share": 0.4}
    assert share["subdistricts"]["south"]["share"] == 0.0
