"""Occupancy history: periodic snapshots of facility counts, and berth transitions for statistics."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from services.db import insert_ignoring_duplicates
from services.parking.live import berth_counts
from services.parking.logic import BerthStatus
from services.parking.models import Berth, BerthEvent, OccupancySnapshot
from services.parking.stats import Transition

SNAPSHOT_FIELDS = ("total", *(s.value for s in BerthStatus))


def take_snapshot(session: Session, now: datetime) -> int:
    """Record every facility's counts (from the berths) at ``now``; a retried job adds nothing twice."""
    rows = [
        {"facility_id": facility_id, "taken_at": now} | {k: counts[k] for k in SNAPSHOT_FIELDS}
        for facility_id, counts in berth_counts(session).items()
    ]
    inserted = insert_ignoring_duplicates(
        session, OccupancySnapshot, rows, ["facility_id", "taken_at"], returning=(OccupancySnapshot.facility_id,)
    )
    return len(inserted)


def snapshots(session: Session, facility_id: str | None, since: datetime, until: datetime) -> list[dict]:
    """Snapshots in [since, until], oldest first; of one facility, or of all when ``facility_id`` is None."""
    query = (
        select(OccupancySnapshot)
        .where(OccupancySnapshot.taken_at >= since, OccupancySnapshot.taken_at <= until)
        .order_by(OccupancySnapshot.taken_at, OccupancySnapshot.facility_id)
    )
    if facility_id:
        query = query.where(OccupancySnapshot.facility_id == facility_id)
    return [
        {"facility_id": s.facility_id, "taken_at": s.taken_at} | {k: getattr(s, k) for k in SNAPSHOT_FIELDS}
        for s in session.scalars(query)
    ]


def berth_transitions(session: Session, facility_id: str | None, since: datetime) -> dict[str, list[Transition]]:
    """Per berth, the events since ``since`` (device time) where its reported state changed, in (boot, seq) order.

    The database keeps only the changes (a window function compares each event with the previous one), so
    heartbeats repeating a state never reach Python.
    """
    order = (BerthEvent.boot, BerthEvent.seq)
    previous = func.lag(BerthEvent.occupied).over(partition_by=BerthEvent.berth_id, order_by=order)
    inner = select(
        BerthEvent.berth_id, BerthEvent.boot, BerthEvent.seq, BerthEvent.observed_at, BerthEvent.occupied
    ).add_columns(previous.label("previous"))
    inner = inner.where(BerthEvent.observed_at >= since)
    if facility_id:
        inner = inner.where(BerthEvent.berth_id.in_(select(Berth.id).where(Berth.facility_id == facility_id)))
    changes = inner.subquery()
    rows = session.execute(
        select(changes.c.berth_id, changes.c.observed_at, changes.c.occupied)
        .where(or_(changes.c.previous.is_(None), changes.c.previous != changes.c.occupied))
        .order_by(changes.c.berth_id, changes.c.boot, changes.c.seq)
    ).all()
    result: dict[str, list[Transition]] = {}
    for berth_id, observed_at, occupied in rows:
        result.setdefault(berth_id, []).append((observed_at, bool(occupied)))
    return result
