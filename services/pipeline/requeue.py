"""Re-queue a dead letter after a fix (a device registered, a firmware corrected)."""

from __future__ import annotations

import time

from sqlalchemy.orm import Session

from services.devices.registry import read_registry
from services.pipeline import metrics
from services.pipeline.intake import Accepted, Rejected, StatusUpdate, classify
from services.pipeline.models import DeadLetter
from services.pipeline.store import mark_requeued
from services.runtime import Runtime
from workers.queueing import INGEST_JOBS, enqueue_batch


def requeue(rt: Runtime, session: Session, letter: DeadLetter) -> Accepted | StatusUpdate | Rejected:
    """Validate the stored message again, exactly as the bridge would; enqueue it if it now passes."""
    s = rt.settings
    outcome = classify(
        letter.topic,
        letter.payload,
        read_registry(rt.redis, rt.keys),
        district=s.district,
        max_payload=s.bridge_max_payload,
        received_at=letter.received_at.timestamp(),
    )
    if isinstance(outcome, Rejected):
        return outcome
    pipe = rt.redis.pipeline(transaction=True)
    if isinstance(outcome, Accepted):
        enqueue_batch(rt.queue(), INGEST_JOBS[outcome.kind], [outcome.row], time.time(), pipeline=pipe)
        metrics.count(pipe, rt.keys, "civic_mqtt_accepted", kind=str(outcome.kind))
    else:
        pipe.hset(rt.keys.device_status, outcome.device_id, outcome.status)
    pipe.execute()
    mark_requeued(session, letter)
    return outcome
