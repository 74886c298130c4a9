"""Pipeline health (pure parts): counter totals, per-second rates, the backlog and failed-job alert decisions."""

from datetime import timedelta

import pytest

from services.alerts.hysteresis import Decision
from services.alerts.logic import Severity
from services.pipeline.alerting import backlog_severity, failed_decision
from services.pipeline.health import Sample, rates, summarise_counters
from services.service_requests.alerting import Overdue, by_community


def test_counters_are_summed_over_labels_and_rejections_split_by_reason():
    values = [
        ("civic_mqtt_received", {"kind": "air_station"}, 10.0),
        ("civic_mqtt_received", {"kind": "parking_berth"}, 5.0),
        ("civic_mqtt_rejected", {"kind": "air_station", "reason": "schema"}, 2.0),
        ("civic_mqtt_rejected", {"kind": "", "reason": "unknown_device"}, 1.0),
        ("civic_mqtt_rejected", {"kind": "parking_berth", "reason": "schema"}, 3.0),
        ("civic_bridge_received", {"bridge": "b1"}, 15.0),
    ]
    totals, by_reason = summarise_counters(values)
    assert totals == {"received": 15, "accepted": 0, "rejected": 6, "rows_stored": 0}
    assert by_reason == {"schema": 5, "unknown_device": 1}


def test_rates_come_from_the_delta_and_are_none_without_a_baseline():
    first = Sample(100.0, {"received": 50, "rows_stored": 10})
    assert rates(None, first) == {"received": None, "rows_stored": None}
    second = Sample(110.0, {"received": 80, "rows_stored": 10})
    assert rates(first, second) == {"received": 3.0, "rows_stored": 0.0}


def test_no_rate_after_a_counter_reset_or_without_elapsed_time():
    before = Sample(100.0, {"received": 500})
    assert rates(before, Sample(110.0, {"received": 20})) == {"received": None}  # Redis lost its counters
    assert rates(before, Sample(100.0, {"received": 600})) == {"received": None}


def test_a_sample_survives_its_round_trip_and_garbage_reads_as_none():
    sample = Sample(12.5, {"received": 3}, {"ingest": 2})
    assert Sample.from_json(sample.to_json()) == sample
    assert Sample.from_json(None) is None and Sample.from_json(b"{nonsense") is None
    assert Sample.from_json(b'{"at": 1}') is None


@pytest.mark.parametrize(
    ("waiting", "is_open", "expected"),
    [
        (199, False, None),  # below the threshold
        (200, False, Severity.WARNING),  # at it
        (150, True, Severity.WARNING),  # open: stays open between half the threshold and the threshold
        (100, True, Severity.WARNING),  # exactly half: still open
        (99, True, None),  # below half: cleared
        (150, False, None),  # not open: the band does not raise
        (1000, False, Severity.CRITICAL),  # at BRIDGE_MAX_BACKLOG
        (999, True, Severity.WARNING),  # back below it: down to warning, still open
    ],
)
def test_backlog_alert_has_hysteresis(waiting, is_open, expected):
    assert backlog_severity(waiting, is_open, threshold=200, critical_at=1000) == expected


def test_backlog_rule_bounds():
    assert backlog_severity(10_000, True, threshold=0, critical_at=1000) is None  # QUEUE_BACKLOG_ALERT=0: off
    assert backlog_severity(10_000, False, threshold=200, critical_at=0) is Severity.WARNING  # no bound: no critical
    # A BRIDGE_MAX_BACKLOG below the threshold raises (critical) there, and clears below half of it.
    assert backlog_severity(50, False, threshold=200, critical_at=50) is Severity.CRITICAL
    assert backlog_severity(30, True, threshold=200, critical_at=50) is Severity.WARNING
    assert backlog_severity(24, True, threshold=200, critical_at=50) is None


def test_failed_jobs_alert_raises_on_growth_and_clears_when_empty():
    assert failed_decision(3, None) is Decision.HOLD  # first sample: no baseline to grow from
    assert failed_decision(3, 3) is Decision.HOLD
    assert failed_decision(4, 3) is Decision.RAISE
    assert failed_decision(2, 3) is Decision.HOLD  # some removed, some left: whatever is open stays
    assert failed_decision(0, 3) is Decision.CLEAR


def test_overdue_requests_grouped_per_community_most_late_first():
    hour = timedelta(hours=1)
    found = by_community(
        [
            Overdue("HP-1", "a", 2 * hour, 24 * hour),
            Overdue("HP-2", "a", 30 * hour, 24 * hour),  # late by more than its whole budget again
            Overdue("HP-3", "b", hour, None),  # its service left the catalogue: never critical
        ]
    )
    assert list(found) == ["a", "b"]
    assert found["a"].count == 2 and found["a"].critical == 1 and found["a"].severity is Severity.CRITICAL
    assert found["a"].request_ids == ("HP-2", "HP-1") and found["a"].most_late_h == 30.0
    assert found["b"].severity is Severity.WARNING and found["b"].critical == 0
