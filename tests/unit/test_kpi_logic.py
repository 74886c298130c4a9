"""The KPI board's records: met or not against the target in its direction, and null when there is no data."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from services.kpi import logic
from services.kpi.logic import Direction
from services.service_requests.stats import Compliance


@pytest.mark.parametrize(
    ("value", "target", "direction", "expected"),
    [
        (0.8, 0.75, Direction.AT_LEAST, True),
        (0.75, 0.75, Direction.AT_LEAST, True),
        (0.7, 0.75, Direction.AT_LEAST, False),
        (40.0, 52.5, Direction.AT_MOST, True),
        (60.0, 52.5, Direction.AT_MOST, False),
        (None, 0.75, Direction.AT_LEAST, None),
        (40.0, None, Direction.AT_MOST, None),
    ],
)
def test_met_follows_the_direction_and_is_null_without_data(value, target, direction, expected):
    assert logic.met(value, target, direction) is expected


def test_smart_berths_record():
    kpi = logic.smart_berths({"smart_managed": 60, "berths": 100, "share": 0.6, "meets_target": False})
    assert kpi["id"] == "smart_berths" and kpi["unit"] == "ratio" and kpi["direction"] == "at_least"
    assert (kpi["value"], kpi["target"], kpi["met"], kpi["limit"]) == (0.6, 0.75, False, None)
    assert kpi["label_zh"] and kpi["label_en"] and kpi["detail"] == {"smart_managed": 60, "berths": 100}
    empty = logic.smart_berths({"smart_managed": 0, "berths": 0, "share": None, "meets_target": False})
    assert empty["value"] is None and empty["met"] is None


def rolling(partial_mean, valid=False, target=52.5):
    return {
        "first": date(2025, 11, 26),
        "last": date(2026, 11, 25),
        "valid_days": 30,
        "valid": valid,
        "mean": partial_mean if valid else None,
        "partial_mean": partial_mean,
        "baseline": {"value": 70.0, "label": "2015"},
        "target": target,
        "reduction": None,
        "limits": {"standard": "GB 3095-2026 Grade II (transitional)", "standard_zh": "", "annual": 30, "daily": 60},
        "days_over_daily_limit": 2,
    }


def test_pm25_is_at_most_the_target_with_the_annual_limit():
    kpi = logic.pm25(rolling(48.04))
    assert kpi["unit"] == "µg/m³" and kpi["direction"] == "at_most" and kpi["limit"] == 30
    assert kpi["value"] == 48.0 and kpi["met"] is True and kpi["detail"]["valid"] is False
    assert logic.pm25(rolling(55.0, valid=True))["met"] is False
    assert logic.pm25(rolling(None))["met"] is None
    assert logic.pm25(rolling(40.0, target=None))["met"] is None  # no baseline configured: nothing to judge


def test_requests_within_sla_uses_finished_resolution_clocks():
    kpi = logic.requests_within_sla(Compliance(met=9, missed=1, running=5), Compliance(met=3, missed=1))
    assert (kpi["value"], kpi["target"], kpi["met"]) == (0.9, 0.9, True)
    assert kpi["detail"]["running"] == 5 and kpi["detail"]["response_share"] == 0.75
    assert logic.requests_within_sla(Compliance(met=8, missed=2), Compliance())["met"] is False
    nothing_finished = logic.requests_within_sla(Compliance(running=3), Compliance())
    assert nothing_finished["value"] is None and nothing_finished["met"] is None


def test_sensor_availability_adds_up_the_fleet_kinds():
    fleet = {
        "kinds": [
            {"kind": "parking_berth", "timeout_s": 300, "total": 4, "online": 2, "stale": 1, "offline": 1,
             "availability": 0.5, "battery_low": 1},
            {"kind": "air_station", "timeout_s": 600, "total": 1, "online": 1, "stale": 0, "offline": 0,
             "availability": 1.0, "battery_low": 0},
        ],
        "subdistricts": [],
    }  # fmt: skip
    kpi = logic.sensor_availability(fleet)
    assert (kpi["value"], kpi["target"], kpi["met"]) == (0.6, 0.95, False)
    assert (kpi["detail"]["total"], kpi["detail"]["online"], kpi["detail"]["offline"]) == (5, 3, 1)
    assert "battery_low" not in kpi["detail"]["kinds"][0]
    assert logic.sensor_availability({"kinds": []})["met"] is None  # no sensors: nothing to judge
    assert logic.sensor_availability(None)["met"] is None  # live state away


def test_trend_is_oldest_first_within_the_days_asked():
    last = date(2026, 11, 26)
    values = {last - timedelta(days=n): float(n) for n in (0, 3, 40, 1)}
    assert logic.trend(values, last, 30) == [
        {"day": "2026-11-23", "value": 3.0},
        {"day": "2026-11-25", "value": 1.0},
        {"day": "2026-11-26", "value": 0.0},
    ]


def test_snapshot_rows_skip_kpis_without_a_value():
    kpis = [logic.smart_berths({"smart_managed": 1, "berths": 2, "share": 0.5}), logic.sensor_availability(None)]
    assert logic.snapshot_rows(kpis) == [("smart_berths", 0.5)]
