"""The ingest benchmark's pure parts: pacing, identities, loss/duplicate tally, percentiles, id-gap polling."""

from __future__ import annotations

import json

import pytest

from bench.clients import payload
from bench.stats import GapTracker, Pacer, identity_of, index_of, percentile, rate, summarise, tally
from services.devices.broker_auth import local_broker_config


# -- pacing -----------------------------------------------------------------------------------------
def test_pacer_total_is_rate_times_duration():
    assert Pacer(5000, 60).total == 300_000
    assert Pacer(2.5, 2).total == 5


def test_pacer_first_message_is_due_at_start_and_none_before():
    p = Pacer(1000, 10)
    assert p.due(-0.001) == 0
    assert p.due(0) == 1


def test_pacer_due_follows_the_rate_and_never_exceeds_total():
    p = Pacer(1000, 10)
    assert p.due(0.0005) == 1
    assert p.due(0.001) == 2
    assert p.due(1.0) == 1001
    assert p.due(9.999) == 10_000
    assert p.due(3600) == 10_000


def test_pacer_due_is_monotonic_and_matches_time_of():
    p = Pacer(7919, 3)
    counts = [p.due(t / 1000) for t in range(0, 3100)]
    assert counts == sorted(counts)
    for k in (0, 1, 500, 7918, p.total - 1):
        assert p.due(p.time_of(k)) >= k + 1  # message k is due at its own time
        assert p.due(p.time_of(k) - 1e-6) <= k  # ...and not before


@pytest.mark.parametrize("rate_, duration", [(0, 1), (100, 0), (-5, 10)])
def test_pacer_refuses_non_positive_rate_or_duration(rate_, duration):
    with pytest.raises(ValueError):
        Pacer(rate_, duration)


# -- identity ---------------------------------------------------------------------------------------
def test_messages_go_round_robin_and_each_device_counts_seq_from_one():
    assert [identity_of(i, 3) for i in range(7)] == [(0, 1), (1, 1), (2, 1), (0, 2), (1, 2), (2, 2), (0, 3)]


def test_index_of_inverts_identity_of():
    devices = 944
    for i in (0, 1, 943, 944, 945, 299_999):
        assert index_of(*identity_of(i, devices), devices) == i


# -- tally by identity ------------------------------------------------------------------------------
def test_tally_all_acked_all_stored():
    t = tally(4, [1, 1, 1, 1], [3, 0, 2, 1])
    assert (t.published, t.acked, t.stored, t.lost, t.duplicates) == (4, 4, 4, 0, 0)
    assert (t.stored_unacked, t.unacked_missing, t.foreign) == (0, 0, 0)


def test_tally_counts_acked_but_missing_as_lost():
    t = tally(5, [1, 1, 1, 1, 1], [0, 1, 4])
    assert t.lost == 2
    assert t.stored == 3


def test_tally_counts_extra_copies_of_an_identity_as_duplicates():
    t = tally(3, [1, 1, 1], [0, 1, 1, 2, 1, 0])
    assert t.duplicates == 3  # identity 1 twice more, identity 0 once more
    assert t.stored == 3
    assert t.lost == 0


def test_tally_unacked_messages_are_not_losses():
    # 1 was never PUBACKed but stored anyway (the broker had it); 2 was never PUBACKed nor stored.
    t = tally(3, [1, 0, 0], [0, 1])
    assert (t.lost, t.stored_unacked, t.unacked_missing) == (0, 1, 1)
    assert t.acked == 1


def test_tally_rows_not_sent_by_the_run_are_foreign():
    t = tally(2, [1, 1], [0, 1, None, 2, -1])
    assert t.foreign == 3
    assert (t.stored, t.lost, t.duplicates) == (2, 0, 0)


def test_tally_accepts_bytes_flags():
    assert tally(3, bytes([1, 0, 1]), [0]).lost == 1


# -- percentiles ------------------------------------------------------------------------------------
def test_percentile_interpolates_linearly_like_numpy():
    values = [10.0, 20.0, 30.0, 40.0]
    assert percentile(values, 0) == 10.0
    assert percentile(values, 100) == 40.0
    assert percentile(values, 50) == 25.0
    assert percentile(values, 99) == pytest.approx(39.7)


def test_percentile_of_one_value_and_of_none():
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 50) is None


def test_percentile_refuses_out_of_range_p():
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_summarise_sorts_and_rounds():
    s = summarise([float(v) for v in range(100, 0, -1)])  # 100 .. 1, unsorted
    assert s["count"] == 100
    assert s["p50"] == 50.5
    assert s["p99"] == 99.0
    assert s["max"] == 100.0
    assert s["mean"] == 50.5


def test_summarise_empty():
    assert summarise([]) == {"count": 0, "p50": None, "p95": None, "p99": None, "max": None, "mean": None}


def test_rate():
    assert rate(10_000, 2.0) == 5000.0
    assert rate(10, 0) is None


# -- polling by id with out-of-order commits --------------------------------------------------------
def test_gap_tracker_in_order_ids_leave_no_gaps():
    g = GapTracker(high=100)
    assert g.observe([101, 102, 103], now=0) == 3
    assert g.high == 103
    assert g.ranges() == []


def test_gap_tracker_remembers_ids_committed_later_and_fills_them():
    g = GapTracker(high=0)
    # worker B's transaction (ids 6-10) commits before worker A's (1-5)
    assert g.observe([6, 7, 8, 9, 10], now=0) == 5
    assert g.ranges() == [(1, 5)]
    assert g.observe([3, 1, 2], now=0.05) == 3
    assert g.ranges() == [(4, 5)]
    assert g.observe([4, 5, 11], now=0.1) == 3
    assert g.ranges() == []
    assert g.high == 11


def test_gap_tracker_splits_a_gap_filled_in_the_middle():
    g = GapTracker(high=0)
    g.observe([10], now=0)
    g.observe([5], now=0)
    assert g.ranges() == [(1, 4), (6, 9)]


def test_gap_tracker_repeated_ids_are_not_new():
    g = GapTracker(high=0)
    g.observe([1, 2, 3], now=0)
    assert g.observe([2, 3], now=0) == 0


def test_gap_tracker_abandons_old_gaps():
    g = GapTracker(high=0, max_age=5)
    g.observe([4], now=0)  # ids 1-3 consumed by a conflicting insert: never committed
    g.observe([8], now=4)  # 5-7 noticed at t=4
    g.expire(now=6)
    assert g.ranges() == [(5, 7)]
    assert g.abandoned == 3
    g.expire(now=9.5)
    assert g.ranges() == []
    assert g.abandoned == 6


# -- what the bench sends and how it runs its broker -------------------------------------------------
def test_payload_is_a_valid_berth_reading_with_the_publish_time():
    from services.parking.schemas import BerthStateMessage

    wall = 1_795_660_000.123456
    raw = payload(1_795_660_000, 8, wall)
    message = BerthStateMessage().load(json.loads(raw))
    assert message["boot"] == 1_795_660_000
    assert message["seq"] == 8
    assert message["ts"].timestamp() == pytest.approx(wall, abs=1e-6)
    assert message["occupied"] is False
    assert json.loads(payload(1, 4, wall))["occupied"] is True  # a state change every fourth reading


def test_rewrite_config_keeps_the_project_settings(tmp_path):
    from bench.broker import CONFIG

    text = local_broker_config(CONFIG.read_text(), 18830, tmp_path, as_root=True)
    lines = text.splitlines()
    assert "listener 18830 127.0.0.1" in lines
    assert f"persistence_location {tmp_path}/" in lines
    assert f"password_file {tmp_path / 'auth' / 'passwd'}" in lines
    assert f"acl_file {tmp_path / 'auth' / 'acl'}" in lines
    for setting in ("max_queued_messages 0", "max_inflight_messages 0", "autosave_interval 1"):
        assert setting in lines
    assert lines[-1] == "user root"
    assert "user root" not in local_broker_config(CONFIG.read_text(), 1, tmp_path, as_root=False)


def test_bench_refuses_to_run_without_explicit_stores():
    from bench.platform import BenchError, require_scratch_env

    with pytest.raises(BenchError, match="DATABASE_URL and REDIS_URL must be set"):
        require_scratch_env({})
    with pytest.raises(BenchError, match="REDIS_URL must be set"):
        require_scratch_env({"DATABASE_URL": "postgresql://127.0.0.1/civic_bench"})
    require_scratch_env({"DATABASE_URL": "postgresql://h/db", "REDIS_URL": "redis://h/11"})


def test_counter_delta_sums_a_counter_over_its_labels():
    from bench.platform import counter_delta

    before = {"civic_mqtt_received|kind=parking_berth": 10.0, "civic_rows_stored|kind=parking_berth": 5.0}
    after = {
        "civic_mqtt_received|kind=parking_berth": 110.0,
        "civic_mqtt_received|kind=status": 3.0,
        "civic_rows_stored|kind=parking_berth": 50.0,
    }
    assert counter_delta(before, after, "civic_mqtt_received") == 103
    assert counter_delta(before, after, "civic_rows_stored") == 45
    assert counter_delta(before, after, "civic_rows_duplicate") == 0


# -- CPU attribution --------------------------------------------------------------------------------
def test_cpu_attribute_groups_processes_and_leaves_the_rest_unattributed():
    from bench.cpu import ProcSample, attribute

    before = {
        10: ProcSample("python", 1, "", 5.0),  # bridge
        11: ProcSample("postgres", 1, "postgres: 15/main: root civic_bench 127.0.0.1(5) idle", 1.0),
        12: ProcSample("postgres", 1, "postgres: 15/main: walwriter", 2.0),
        13: ProcSample("redis-server", 1, "", 3.0),
        14: ProcSample("kworker/0:1", 2, "", 0.5),
        15: ProcSample("pytest", 1, "", 1.0),
        16: ProcSample("python", 1, "", 9.0),  # exits during the window: not in ``after``
        17: ProcSample("kworker/u8:0-flush", 2, "", 40.0, start=7),
        18: ProcSample("python", 1, "", 30.0, start=100),  # the publisher: its own report is used
        19: ProcSample("sh", 1, "", 4.0, start=50),  # exits; its pid is reused by a new process
    }
    after = {
        10: ProcSample("python", 1, "", 8.0),
        11: ProcSample("postgres", 1, "postgres: 15/main: root civic_bench 127.0.0.1(5) idle", 2.5),
        12: ProcSample("postgres", 1, "postgres: 15/main: walwriter", 2.25),
        13: ProcSample("redis-server", 1, "", 3.5),
        14: ProcSample("kworker/0:1", 2, "", 0.75),
        15: ProcSample("pytest", 1, "", 2.0),
        20: ProcSample("postgres", 1, "postgres: 15/main: autovacuum worker civic_bench", 0.5),  # new
        21: ProcSample("pytest", 1, "", 0.25),  # new
        17: ProcSample("kworker/u8:0-events_unbound", 2, "", 40.5, start=7),  # a kernel worker renames itself
        18: ProcSample("python", 1, "", 33.0, start=100),
        19: ProcSample("cc1", 1, "", 0.5, start=900),
    }
    got = attribute(
        before, after, {10: "bridge"}, "civic_bench", busy=13.0, extra={"publisher": 1.5}, ignore=frozenset({18})
    )
    assert got["bridge"] == 3.0
    assert got["postgres_backends"] == 1.5
    assert got["postgres_other"] == 0.75  # walwriter + autovacuum
    assert got["redis_server"] == 0.5
    assert got["kernel_threads"] == 0.75
    assert got["other_processes"] == 1.75
    assert got["other_top"] == [["pytest", 1.25], ["cc1", 0.5]]
    assert got["publisher"] == 1.5
    assert got["unattributed"] == 13.0 - (3.0 + 1.5 + 0.75 + 0.5 + 0.75 + 1.75 + 1.5)
