"""Pipeline health on real Redis and PostgreSQL: the snapshot, its rates, the API, and the queue alerts."""

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
from rq.registry import FailedJobRegistry
from sqlalchemy import select

from config.settings import Settings
from config.topics import Queues
from services.alerts.models import Alert, AlertChange
from services.db import transaction
from services.pipeline import metrics
from services.pipeline.alerting import BACKLOG, FAILED
from services.pipeline.health import pipeline_health
from services.pipeline.jobs import sample
from services.pipeline.store import record_dead_letters
from services.runtime import Runtime
from tests.support.accounts import operator_client
from tests.support.events import EventLog
from tests.support.services import ROOT

LIMITS = {"QUEUE_BACKLOG_ALERT": "20", "BRIDGE_MAX_BACKLOG": "40"}
JOB = "services.pipeline.jobs.sample_pipeline"  # a harmless job to queue up: it samples, like the scheduler's


@pytest.fixture
def rt(runtime, env):
    """The clean runtime, with a backlog threshold of 20 jobs and a bound (critical) of 40."""
    small = Runtime(Settings.from_env(env | LIMITS))
    yield small
    small.close()


def run_worker(env) -> None:
    """A real `civic worker --burst` with the test's settings: it drains both queues and exits."""
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", "worker", "--burst"],
        env=env | LIMITS, cwd=ROOT, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]


def open_alert(rt, kind, queue=Queues.DEFAULT):
    with rt.sessions() as session:
        return session.scalar(
            select(Alert).where(Alert.kind == kind, Alert.source_id == str(queue), Alert.open_key.is_not(None))
        )


def history(rt, kind, queue=Queues.DEFAULT) -> list[tuple[str, str]]:
    with rt.sessions() as session:
        rows = session.execute(
            select(AlertChange.action, AlertChange.state)
            .join(Alert, Alert.id == AlertChange.alert_id)
            .where(Alert.kind == kind, Alert.source_id == str(queue))
            .order_by(AlertChange.id)
        )
        return [tuple(r) for r in rows]


def test_counters_give_totals_and_rates_between_samples(rt):
    t0 = datetime.now(UTC) - timedelta(seconds=30)
    with rt.redis.pipeline() as pipe:
        metrics.count(pipe, rt.keys, "civic_mqtt_received", 100, kind="air_station")
        metrics.count(pipe, rt.keys, "civic_mqtt_accepted", 90, kind="air_station")
        metrics.count(pipe, rt.keys, "civic_mqtt_rejected", 10, kind="air_station", reason="schema")
        pipe.execute()
    with transaction(rt.sessions) as session:
        first, previous = pipeline_health(rt.redis, rt.keys, session, 40, t0, advance=True)
    assert previous is None and first["interval_s"] is None
    assert first["mqtt"] == {
        "received": 100, "accepted": 90, "rejected": 10,
        "received_per_s": None, "accepted_per_s": None, "rejected_per_s": None,
        "rejected_by_reason": {"schema": 10},
    }  # fmt: skip
    with rt.redis.pipeline() as pipe:
        metrics.count(pipe, rt.keys, "civic_mqtt_received", 50, kind="parking_berth")
        metrics.count(pipe, rt.keys, "civic_mqtt_accepted", 45, kind="parking_berth")
        metrics.count(pipe, rt.keys, "civic_mqtt_rejected", 5, kind="", reason="unknown_device")
        metrics.count(pipe, rt.keys, "civic_rows_stored", 20, kind="parking_berth")
        pipe.execute()
    with transaction(rt.sessions) as session:
        second, previous = pipeline_health(rt.redis, rt.keys, session, 40, t0 + timedelta(seconds=10), advance=True)
    assert previous is not None and second["interval_s"] == 10.0
    assert (second["mqtt"]["received_per_s"], second["mqtt"]["accepted_per_s"], second["mqtt"]["rejected_per_s"]) == (
        5.0, 4.5, 0.5,
    )  # fmt: skip
    assert second["mqtt"]["rejected_by_reason"] == {"schema": 10, "unknown_device": 5}
    assert (second["rows_stored"], second["rows_stored_per_s"]) == (20, 2.0)
    # The same figures /metrics exposes.
    assert metrics.counter_totals(rt.redis, rt.keys)["civic_mqtt_received"] == second["mqtt"]["received"]


def test_api_for_operators_only_with_the_snapshot_shape(app, runtime, client):
    assert client.get("/api/v1/pipeline/health").status_code == 401
    ops = operator_client(app, runtime)
    record_dead_letters_now(runtime)
    runtime.redis.set(runtime.keys.heartbeat("bridge", "b-1"), time.time(), ex=30)
    runtime.queue(Queues.DEFAULT).enqueue_call(JOB)
    first = ops.get("/api/v1/pipeline/health")
    assert first.status_code == 200, first.json
    body = first.json
    assert set(body) == {
        "as_of", "interval_s", "mqtt", "rows_stored", "rows_stored_per_s", "queues", "workers", "bridges",
        "backpressure", "dead_letters",
    }  # fmt: skip
    assert body["mqtt"]["received_per_s"] is None  # the first sample
    assert [q["name"] for q in body["queues"]] == ["ingest", "default"]
    assert body["queues"][1] == {"name": "default", "waiting": 1, "started": 0, "failed": 0, "scheduled": 0}
    assert body["bridges"] == 1 and body["workers"] == 0
    assert body["backpressure"] == {"active": False, "backlog_jobs": 0, "limit": runtime.settings.bridge_max_backlog}
    assert body["dead_letters"] == {"pending": 2, "by_reason": {"schema": 1, "unknown_device": 1}}
    # A read keeps the first sample as its baseline (there was none): the next read has rates.
    assert ops.get("/api/v1/pipeline/health").json["mqtt"]["received_per_s"] == 0.0


def record_dead_letters_now(runtime):
    now = time.time()
    items = [
        {"uid": f"u{i}", "received_at": now, "topic": "heping/x", "payload": b"{}", "reason": reason, "detail": "test"}
        for i, reason in enumerate(("schema", "unknown_device"))
    ]
    with transaction(runtime.sessions) as session:
        record_dead_letters(session, items)


def test_backlog_alert_raised_escalated_and_cleared_after_the_drain(rt, env):
    log = EventLog(rt)
    queue = rt.queue(Queues.DEFAULT)
    for _ in range(25):
        queue.enqueue_call(JOB)
    snapshot = sample(rt, datetime.now(UTC))
    assert snapshot["queues"][1]["waiting"] == 25
    alert = open_alert(rt, BACKLOG)
    assert (alert.severity, alert.source_type, alert.detail["waiting"]) == ("warning", "rq_queue", 25)
    assert open_alert(rt, BACKLOG, Queues.INGEST) is None
    (pipeline_event,) = log.read("pipeline")
    assert pipeline_event["queues"] == snapshot["queues"] and "mqtt" in pipeline_event
    (raised,) = log.read("alert")
    assert (raised["action"], raised["alert_kind"], raised["source_id"]) == ("raised", BACKLOG, "default")

    for _ in range(20):
        queue.enqueue_call(JOB)
    sample(rt, datetime.now(UTC))  # 45 waiting: at BRIDGE_MAX_BACKLOG (40)
    assert open_alert(rt, BACKLOG).severity == "critical"
    for _ in range(30):  # 15 waiting: back under the threshold, not under half of it: open, warning
        queue.pop_job_id()
    sample(rt, datetime.now(UTC))
    assert open_alert(rt, BACKLOG).severity == "warning"

    # A real worker drains the queue; the queued jobs are samples themselves, and the last ones see it empty.
    run_worker(env)
    assert queue.count == 0
    assert open_alert(rt, BACKLOG) is None
    assert history(rt, BACKLOG) == [
        ("raised", "raised"), ("updated", "raised"), ("updated", "raised"), ("cleared", "cleared"),
    ]  # fmt: skip
    assert [e["action"] for e in log.read("alert") if e["alert_kind"] == BACKLOG][-1] == "cleared"


def test_failed_jobs_alert_raised_when_the_registry_grows_and_cleared_when_emptied(rt, env):
    sample(rt, datetime.now(UTC))  # the baseline: no failed jobs
    queue = rt.queue(Queues.DEFAULT)
    queue.enqueue_call(JOB, args=("an argument it does not take",))  # fails with a TypeError, no retry
    run_worker(env)
    registry = FailedJobRegistry(queue=queue)
    assert registry.count == 1
    sample(rt, datetime.now(UTC))
    alert = open_alert(rt, FAILED)
    assert (alert.severity, alert.detail) == ("warning", {"failed": 1, "new": 1})
    sample(rt, datetime.now(UTC))  # no growth: the same open alert, no new change
    assert history(rt, FAILED) == [("raised", "raised")]
    for job_id in registry.get_job_ids():
        registry.remove(job_id, delete_job=True)
    sample(rt, datetime.now(UTC))
    assert open_alert(rt, FAILED) is None and history(rt, FAILED)[-1] == ("cleared", "cleared")
