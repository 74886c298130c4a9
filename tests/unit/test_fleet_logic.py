"""Fleet health rules: a device's state, counts, availability, low battery and the offline alert's severity."""

import pytest

from services.alerts.logic import Severity
from services.fleet import logic
from services.fleet.logic import DeviceState, Tally

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("status", "last_seen", "expected"),
    [
        ("offline", NOW - 1, DeviceState.OFFLINE),  # the last will wins over a fresh message
        ("offline", None, DeviceState.OFFLINE),
        (None, None, DeviceState.OFFLINE),  # never heard from
        ("online", None, DeviceState.OFFLINE),
        (None, NOW - 10, DeviceState.ONLINE),
        ("online", NOW - 300, DeviceState.ONLINE),  # exactly at the timeout: still online
        ("online", NOW - 301, DeviceState.STALE),
        (None, NOW - 10_000, DeviceState.STALE),
        ("online", NOW + 5, DeviceState.ONLINE),  # a clock ahead of ours is not silence
    ],
)
def test_device_state(status, last_seen, expected):
    assert logic.device_state(status, last_seen, NOW, timeout_s=300) is expected


def test_the_timeout_is_the_kinds_own():
    seen = NOW - 400
    timeouts = logic.timeouts(berth_silence_s=300, air_stale_after_s=600)
    assert timeouts == {"parking_berth": 300, "air_station": 600}
    assert logic.device_state("online", seen, NOW, timeouts["parking_berth"]) is DeviceState.STALE
    assert logic.device_state("online", seen, NOW, timeouts["air_station"]) is DeviceState.ONLINE


def test_silent_seconds():
    assert logic.silent_seconds(None, NOW) is None
    assert logic.silent_seconds(NOW - 12.4, NOW) == 12
    assert logic.silent_seconds(NOW + 3, NOW) == 0


@pytest.mark.parametrize(("battery", "low"), [(None, False), (20, True), (20.5, False), (0, True), (100, False)])
def test_battery_low_at_or_below_the_threshold(battery, low):
    assert logic.battery_low(battery, 20) is low


def test_availability_is_online_over_active():
    assert logic.availability(3, 4) == 0.75
    assert logic.availability(2, 3) == 0.6667
    assert logic.availability(0, 0) is None


def test_tally_counts_each_state():
    tally = Tally()
    for state, low in [
        (DeviceState.ONLINE, False),
        (DeviceState.ONLINE, True),
        (DeviceState.STALE, False),
        (DeviceState.OFFLINE, True),
    ]:
        tally.add(state, low)
    assert tally.counts() == {"total": 4, "online": 2, "stale": 1, "offline": 1, "availability": 0.5}
    assert tally.battery_low == 2 and tally.not_online == 2


def tally_of(online: int, stale: int, offline: int) -> Tally:
    return Tally(total=online + stale + offline, online=online, stale=stale, offline=offline)


@pytest.mark.parametrize(
    ("tally", "severity"),
    [
        (tally_of(10, 0, 0), None),
        (tally_of(0, 0, 0), None),  # no sensors: nothing to alert on
        (tally_of(9, 1, 0), Severity.WARNING),
        (tally_of(6, 2, 2), Severity.WARNING),
        (tally_of(5, 3, 2), Severity.CRITICAL),  # half down
        (tally_of(0, 0, 1), Severity.CRITICAL),
    ],
)
def test_offline_alert_severity(tally, severity):
    assert logic.sensors_offline_severity(tally) == severity


def test_worst_first_lists_offline_then_stale_and_skips_online():
    states = {"c": DeviceState.STALE, "a": DeviceState.ONLINE, "d": DeviceState.OFFLINE, "b": DeviceState.STALE}
    assert logic.worst_first(states) == ["d", "b", "c"]


def test_the_signature_ignores_the_timestamp():
    one = {"as_of": "2026-01-01T00:00:00+00:00", "kinds": [{"kind": "x", "online": 1}], "subdistricts": []}
    two = one | {"as_of": "2026-01-01T00:00:30+00:00"}
    assert logic.signature(one) == logic.signature(two)
    assert logic.signature(one) != logic.signature(two | {"kinds": [{"kind": "x", "online": 0}]})


def test_every_known_kind_comes_first():
    assert logic.kinds_in_order(["air_station", "zz_new"]) == ["parking_berth", "air_station", "zz_new"]
