"""RQ entry point: sample the pipeline's health, publish it live and apply its alert rules."""

from __future__ import annotations

from datetime import UTC, datetime

from config.topics import EventKind
from services.alerts.events import publish as publish_alerts
from services.db import transaction
from services.events import bus
from services.pipeline import alerting
from services.pipeline.health import pipeline_health
from services.runtime import Runtime
from workers.jobs import runtime

SAMPLE_INTERVAL_S = 10


def sample(rt: Runtime, now: datetime) -> dict:
    """Take one health sample, raise or clear the pipeline alerts, announce both (after the commit)."""
    with transaction(rt.sessions) as session:
        snapshot, previous = pipeline_health(
            rt.redis, rt.keys, session, rt.settings.bridge_max_backlog, now, advance=True
        )
        changes = alerting.evaluate(session, rt.settings, snapshot, previous.failed if previous else None, now)
    length = rt.settings.events_replay_length
    bus.publish(rt.redis, rt.keys, [{"kind": str(EventKind.PIPELINE), **snapshot}], length)
    publish_alerts(rt.redis, rt.keys, changes, length)
    return snapshot


def sample_pipeline() -> int:
    """Scheduled RQ job: one pipeline health sample (live event and alerts); return the jobs waiting in all."""
    snapshot = sample(runtime(), datetime.now(UTC))
    return sum(q["waiting"] for q in snapshot["queues"])
