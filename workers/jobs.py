"""RQ entry points: plain functions of primitives; each opens one transaction and calls the domain.

Side effects in Redis (last-seen, live events, counters) happen after the commit, so a retried job
never announces what was not stored.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from functools import cache

from config.settings import Settings
from config.topics import DeviceKind
from services.air_quality.alerting import Liveness
from services.air_quality.alerting import evaluate as evaluate_air
from services.air_quality.rollups import roll_up_dirty
from services.air_quality.store import record_air_readings
from services.alerts.events import publish as publish_alerts
from services.db import transaction
from services.devices.store import publish_registry
from services.events import bus
from services.fleet import vitals
from services.parking import actions as parking
from services.parking.live import publish_directory, refresh_counts
from services.parking.store import record_berth_events
from services.pipeline import metrics
from services.pipeline.store import record_dead_letters
from services.retention import policy as retention
from services.retention.purge import run_retention
from services.runtime import Runtime

log = logging.getLogger(__name__)


@cache
def runtime() -> Runtime:
    """This worker process's connections, made on first use from the environment."""
    return Runtime(Settings.from_env())


def ingest_berth_events(rows: list[dict], first_received: float) -> int:
    """Persist a batch of berth sensor events, then recompute its facilities' counts; return how many were new.

    Counts are recomputed for every facility in the batch, not only those that changed: a retried batch
    whose first run committed but died before this step repairs the cache too.
    """
    stored = _ingest(DeviceKind.PARKING_BERTH, record_berth_events, rows, first_received)
    rt = runtime()
    refresh_counts(rt.sessions, rt.redis, rt.keys, {r["facility_id"] for r in rows}, rt.settings.events_replay_length)
    return stored


def ingest_air_readings(rows: list[dict], first_received: float) -> int:
    """Persist a batch of air readings; return how many were new."""
    return _ingest(DeviceKind.AIR_STATION, record_air_readings, rows, first_received)


def _ingest(kind: DeviceKind, record, rows: list[dict], first_received: float) -> int:
    rt = runtime()
    with transaction(rt.sessions) as session:
        stored, changes = record(session, rows)
    _announce(rt, kind, rows, changes, stored, first_received)
    return stored


def _announce(
    rt: Runtime, kind: DeviceKind, rows: list[dict], changes: list[dict], stored: int, first_received: float
) -> None:
    last_seen: dict[str, float] = {}
    for r in rows:
        last_seen[r["device_id"]] = max(r["received_at"], last_seen.get(r["device_id"], 0.0))
    pipe = rt.redis.pipeline(transaction=False)
    pipe.hset(rt.keys.last_seen, mapping=last_seen)
    vitals.remember(pipe, rt.keys, rows)
    bus.announce(pipe, rt.keys, ({"kind": str(kind), **change} for change in changes), rt.settings.events_replay_length)
    metrics.count(pipe, rt.keys, "civic_rows_stored", stored, kind=str(kind))
    metrics.count(pipe, rt.keys, "civic_rows_duplicate", len(rows) - stored, kind=str(kind))
    metrics.observe(pipe, rt.keys, "civic_batch_size", len(rows))
    metrics.observe(pipe, rt.keys, "civic_batch_latency_seconds", max(0.0, time.time() - first_received))
    pipe.execute()


def store_dead_letters(items: list[dict]) -> int:
    """Persist messages the bridge refused, each with its reason and raw payload."""
    with transaction(runtime().sessions) as session:
        return record_dead_letters(session, items)


def roll_up_air() -> dict:
    """Roll up the air-quality hours that got readings since the last run, and the days holding them.

    Hours past the raw-retention cut-off that were rolled up already are left as they are (rollups.py).
    """
    rt, now = runtime(), datetime.now(UTC)
    with transaction(rt.sessions) as session:
        return roll_up_dirty(session, now, frozen_before=retention.cutoff(now, rt.settings.air_raw_retention_days))


def apply_retention() -> dict:
    """Delete raw air readings and berth events past their retention (services/retention/purge.py)."""
    rt = runtime()
    return run_retention(rt.sessions, rt.settings, datetime.now(UTC))


def evaluate_air_alerts() -> int:
    """Raise, refresh or clear the air-quality alerts; announce each change; return how many changed."""
    rt = runtime()
    liveness = Liveness(
        last_seen={k.decode(): float(v) for k, v in rt.redis.hgetall(rt.keys.last_seen).items()},
        status={k.decode(): v.decode() for k, v in rt.redis.hgetall(rt.keys.device_status).items()},
    )
    with transaction(rt.sessions) as session:
        events = evaluate_air(session, rt.settings, liveness, datetime.now(UTC))
    publish_alerts(rt.redis, rt.keys, events, rt.settings.events_replay_length)
    return len(events)


def sweep_silent_berths() -> int:
    """Mark berths unknown whose sensor is silent past BERTH_SILENCE_S or offline; return how many."""
    return len(parking.sweep(runtime()))


def snapshot_parking() -> int:
    """Record every parking facility's counts (the occupancy history)."""
    return parking.snapshot(runtime())


def publish_parking_directory() -> int:
    """Copy the parking facilities (GEO set, descriptions) and fresh counts to Redis."""
    rt = runtime()
    return publish_directory(rt.sessions, rt.redis, rt.keys, rt.settings.events_replay_length)


def publish_device_registry() -> int:
    """Copy the device registry from the database to Redis, where the bridges read it."""
    rt = runtime()
    with rt.sessions() as session:
        return publish_registry(session, rt.redis, rt.keys)
