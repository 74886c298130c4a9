"""Parking operations that touch both the database and Redis, for jobs, the CLI and (later) HTTP.

Each commits its berth changes first, then announces them and recomputes the affected facilities' counts,
so Redis never shows what the database does not hold.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from config.topics import EventKind
from services.accounts.roles import SYSTEM, Actor
from services.audit.store import AuditAction, record
from services.db import transaction
from services.events import bus
from services.parking import store
from services.parking.history import take_snapshot
from services.parking.live import refresh_counts
from services.runtime import Runtime

OFFLINE = b"offline"


def offline_devices(rt: Runtime) -> set[str]:
    """Devices whose latest status message (or last will) says offline."""
    return {d.decode() for d, status in rt.redis.hgetall(rt.keys.device_status).items() if status == OFFLINE}


def announce(rt: Runtime, changes: list[dict], facility_ids: Iterable[str] = ()) -> None:
    """Publish one live event per berth change, then refresh the counts of every facility concerned."""
    if changes:
        events = ({"kind": str(EventKind.PARKING_BERTH), **change} for change in changes)
        bus.publish(rt.redis, rt.keys, events, rt.settings.events_replay_length)
    facilities = {c["facility_id"] for c in changes} | set(facility_ids)
    refresh_counts(rt.sessions, rt.redis, rt.keys, facilities, rt.settings.events_replay_length)


def sweep(rt: Runtime, now: datetime | None = None) -> list[dict]:
    """Make berths of silent or offline sensors unknown; returns the changes."""
    offline = offline_devices(rt)
    with transaction(rt.sessions) as session:
        changes = store.sweep_silent_berths(session, now or datetime.now(UTC), rt.settings.berth_silence_s, offline)
    announce(rt, changes)
    return changes


def set_closed(rt: Runtime, berth_id: str, closed: bool, actor: Actor = SYSTEM) -> dict | None:
    """Close or reopen a berth (operator action, audited as ``actor``); the change, or None if it already was so.

    Raises store.BerthNotFound for an unknown berth.
    """
    now = datetime.now(UTC)
    with transaction(rt.sessions) as session:
        if closed:
            change = store.close_berth(session, berth_id, now)
        else:
            change = store.open_berth(session, berth_id, now, rt.settings.berth_silence_s, offline_devices(rt))
        action = AuditAction.BERTH_CLOSE if closed else AuditAction.BERTH_OPEN
        record(
            session, actor, action, "berth", berth_id, {"status": change["status"]} if change else {"unchanged": True}
        )
    announce(rt, [change] if change else [])
    return change


def snapshot(rt: Runtime, now: datetime | None = None) -> int:
    """Record every facility's counts now (the history behind charts and CSV)."""
    with transaction(rt.sessions) as session:
        return take_snapshot(session, (now or datetime.now(UTC)).replace(microsecond=0))
