"""The scheduled fleet sweep: recompute fleet health, announce changed counts, raise or clear offline alerts."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import select

from config.topics import EventKind
from services.alerts.events import publish as publish_alerts
from services.db import transaction
from services.district.models import Subdistrict
from services.events import bus
from services.fleet import alerting, logic, store
from services.runtime import Runtime
from workers.jobs import runtime

SWEEP_INTERVAL_S = 30  # a dead sensor shows offline on the console at most this long after its timeout


def sweep_fleet() -> dict:
    """RQ job: one fleet sweep with this worker's connections."""
    return sweep(runtime())


def sweep(rt: Runtime, now: datetime | None = None) -> dict:
    """Judge every device, update the facilities' offline alerts, then announce; return what was announced."""
    now = now or datetime.now(UTC)
    live = store.read_liveness(rt.redis, rt.keys)
    with transaction(rt.sessions) as session:
        rows = store.assess(store.active_devices(session), live, rt.settings, now)
        subdistricts = list(session.scalars(select(Subdistrict).order_by(Subdistrict.id)))
        alert_events = alerting.evaluate(session, rows, now)
    publish_alerts(rt.redis, rt.keys, alert_events, rt.settings.events_replay_length)
    summary = store.summarise(rows, subdistricts, rt.settings, now)
    counts = json.dumps(logic.signature(summary), sort_keys=True)
    # SET ... GET swaps atomically: of two overlapping sweeps seeing the same change, only one announces it.
    previous = rt.redis.set(rt.keys.fleet_counts, counts, get=True)
    changed = previous is None or previous.decode() != counts
    if changed:
        bus.publish(rt.redis, rt.keys, [{"kind": str(EventKind.FLEET), **summary}], rt.settings.events_replay_length)
    return {"changed": changed, "alerts": len(alert_events)}
