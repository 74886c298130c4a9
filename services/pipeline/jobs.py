"""Sample the pipeline's health, publish it live and apply its alert rules.

Run by a thread of `civic scheduler` (workers/schedule.py), not as an RQ job: a monitor must not wait in
the queue whose backlog it reports, nor count in it (the bridge's backpressure bound counts ingest
jobs), nor stop when no worker is alive.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from config.topics import EventKind
from services.alerts.events import publish as publish_alerts
from services.db import transaction
from services.events import bus
from services.pipeline import alerting
from services.pipeline.health import pipeline_health
from services.runtime import Runtime
from workers.jobs import runtime

log = logging.getLogger(__name__)

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
    """One pipeline health sample as an RQ job (by hand, or from tests); return the jobs waiting in all."""
    snapshot = sample(runtime(), datetime.now(UTC))
    return sum(q["waiting"] for q in snapshot["queues"])


def monitor(rt: Runtime, stop: threading.Event, interval: float = SAMPLE_INTERVAL_S) -> None:
    """Sample every ``interval`` seconds until ``stop`` is set; a sample that fails (the database or Redis
    away) is logged and the next one tried: the outage itself shows in /readyz and in the next sample."""
    while not stop.wait(interval):
        try:
            sample(rt, datetime.now(UTC))
        except (SQLAlchemyError, RedisError) as exc:
            log.warning("pipeline health sample failed: %s", exc)
        except Exception:
            log.exception("pipeline health sample failed")
