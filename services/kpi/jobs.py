"""Scheduled: record today's KPI values (the trend) and announce them to the live dashboards."""

from __future__ import annotations

from datetime import UTC, datetime

from config.topics import EventKind
from services.db import transaction
from services.events import bus
from services.kpi.store import current_kpis, save_snapshot
from services.runtime import Runtime
from workers.jobs import runtime

SNAPSHOT_INTERVAL_S = 300  # the board's values at most five minutes old; the day's row keeps the latest


def snapshot_kpis(rt: Runtime | None = None, now: datetime | None = None) -> int:
    """Upsert today's value of each KPI (idempotent), then publish them as one live event; rows written."""
    rt = rt or runtime()  # the worker's own connections; tests pass theirs
    now = now or datetime.now(UTC)
    with transaction(rt.sessions) as session:
        kpis = current_kpis(session, rt.redis, rt.keys, rt.settings, now)
        written = save_snapshot(session, kpis, now)
    event = {"kind": str(EventKind.KPI), "as_of": now.isoformat(), "kpis": kpis}
    bus.publish(rt.redis, rt.keys, [event], rt.settings.events_replay_length)
    return written
