"""Berths: the write path (sensor events, the silence sweep, operator close/open) and berth reads."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import and_, bindparam, func, or_, select, text, update
from sqlalchemy.orm import Session

from services.db import as_json, insert_ignoring_duplicates
from services.parking.logic import (
    SENSOR_DRIVEN,
    BerthStatus,
    detection,
    is_silent,
    next_status,
    reopened_status,
    swept_status,
)
from services.parking.models import Berth, BerthEvent, ParkingFacility
from services.pipeline.identity import newest_by
from services.types import utc_from_epoch


class BerthNotFound(LookupError):
    """No berth with that id."""


def record_berth_events(session: Session, rows: list[dict]) -> tuple[int, list[dict]]:
    """Store a batch of berth events once each and move berth states forward.

    Returns how many events were new and the berths whose status changed.
    """
    inserted = insert_ignoring_duplicates(
        session,
        BerthEvent,
        [
            {
                "device_id": r["device_id"],
                "boot": r["boot"],
                "seq": r["seq"],
                "berth_id": r["berth_id"],
                "occupied": r["occupied"],
                "observed_at": utc_from_epoch(r["observed_at"]),
                "received_at": utc_from_epoch(r["received_at"]),
            }
            for r in rows
        ],
        ["device_id", "boot", "seq"],
        returning=(BerthEvent.device_id, BerthEvent.boot, BerthEvent.seq),
    )
    fresh = {tuple(row) for row in inserted}
    candidates = newest_by([r for r in rows if (r["device_id"], r["boot"], r["seq"]) in fresh], "berth_id")
    if not candidates:
        return len(fresh), []
    # Lock the berths in id order so two workers on overlapping batches cannot deadlock.
    current = session.execute(
        select(Berth.id, Berth.status, Berth.status_boot, Berth.status_seq)
        .where(Berth.id.in_(sorted(candidates)))
        .order_by(Berth.id)
        .with_for_update()
    ).all()
    changes, updates = [], []
    for berth_id, status, boot, seq in current:
        event = candidates[berth_id]
        new = next_status((status, boot, seq), event)
        if new is None:
            continue
        # Every newer event counts, a heartbeat repeating the same state too: it proves the sensor is alive.
        updates.append(
            {
                "b_id": berth_id,
                "b_status": str(new),
                "b_boot": event["boot"],
                "b_seq": event["seq"],
                "b_at": utc_from_epoch(event["observed_at"]),
                "b_occupied": event["occupied"],
                "b_seen": utc_from_epoch(event["received_at"]),
            }
        )
        if new != status:
            changes.append(_change(berth_id, event["facility_id"], new, status, event["observed_at"]))
    if updates:
        _move_berths(session, updates)
    return len(fresh), changes


# The same guarded UPDATE as the SQLite one below, for PostgreSQL as one constant statement whose one
# parameter is the batch as JSON, instead of one UPDATE per berth (13 % of a worker's CPU at 5,000/s).
_MOVE_BERTHS_PG = text(
    """UPDATE berths AS b SET status = u.b_status, status_boot = u.b_boot, status_seq = u.b_seq,
           status_at = u.b_at, sensor_occupied = u.b_occupied, seen_at = u.b_seen
    FROM json_to_recordset(CAST(:batch AS json)) AS u(b_id varchar, b_status varchar, b_boot int, b_seq int,
                                                       b_at timestamptz, b_occupied boolean, b_seen timestamptz)
    WHERE b.id = u.b_id
      AND (b.status_boot IS NULL OR b.status_boot < u.b_boot
           OR (b.status_boot = u.b_boot AND b.status_seq < u.b_seq))"""
)


def _move_berths(session: Session, updates: list[dict]) -> None:
    """Write each berth's newer state, guarded by (boot, seq) so an older event never overwrites a newer one."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_MOVE_BERTHS_PG, {"batch": json.dumps(updates, default=as_json)})
        return
    session.connection().execute(
        update(Berth)
        .where(Berth.id == bindparam("b_id"))
        .where(
            or_(
                Berth.status_boot.is_(None),
                Berth.status_boot < bindparam("b_boot"),
                and_(Berth.status_boot == bindparam("b_boot"), Berth.status_seq < bindparam("b_seq")),
            )
        )
        .values(
            status=bindparam("b_status"),
            status_boot=bindparam("b_boot"),
            status_seq=bindparam("b_seq"),
            status_at=bindparam("b_at"),
            sensor_occupied=bindparam("b_occupied"),
            seen_at=bindparam("b_seen"),
        ),
        updates,
    )


def sweep_silent_berths(session: Session, now: datetime, silence_s: float, offline: set[str]) -> list[dict]:
    """Make berths unknown whose sensor is silent (nothing received for ``silence_s``) or offline.

    Each update is guarded by the (boot, seq) read here, so an event committed meanwhile by a worker is
    never overwritten by this sweep's older view.
    """
    rows = session.execute(
        select(Berth.id, Berth.facility_id, Berth.device_id, Berth.status, Berth.status_boot, Berth.status_seq)
        .add_columns(Berth.seen_at)
        .where(Berth.device_id.is_not(None), Berth.status.in_([str(s) for s in SENSOR_DRIVEN]))
        .order_by(Berth.id)
    ).all()
    stale = [
        r
        for r in rows
        if swept_status(r.status, silent=is_silent(r.seen_at, now, silence_s), offline=r.device_id in offline)
        is BerthStatus.UNKNOWN
    ]
    changes = []
    for r in stale:
        result = session.execute(
            update(Berth)
            .where(Berth.id == r.id, Berth.status == r.status)
            .where(Berth.status_boot == r.status_boot, Berth.status_seq == r.status_seq)
            .values(status=str(BerthStatus.UNKNOWN))
        )
        if result.rowcount:
            changes.append(_change(r.id, r.facility_id, BerthStatus.UNKNOWN, r.status, now.timestamp()))
    return changes


def close_berth(session: Session, berth_id: str, now: datetime) -> dict | None:
    """Operator action: take a berth out of use; returns the change, or None when it was closed already."""
    berth = _locked(session, berth_id)
    if berth.status == BerthStatus.CLOSED:
        return None
    previous, berth.status = berth.status, str(BerthStatus.CLOSED)
    return _change(berth.id, berth.facility_id, BerthStatus.CLOSED, previous, now.timestamp())


def open_berth(session: Session, berth_id: str, now: datetime, silence_s: float, offline: set[str]) -> dict | None:
    """Operator action: put a closed berth back in use, at its sensor's latest state if that is fresh."""
    berth = _locked(session, berth_id)
    if berth.status != BerthStatus.CLOSED:
        return None
    new = reopened_status(
        berth.sensor_occupied if berth.device_id else None,
        silent=is_silent(berth.seen_at, now, silence_s),
        offline=berth.device_id in offline,
    )
    berth.status = str(new)
    return _change(berth.id, berth.facility_id, new, BerthStatus.CLOSED, now.timestamp())


def _locked(session: Session, berth_id: str) -> Berth:
    berth = session.scalars(select(Berth).where(Berth.id == berth_id).with_for_update()).one_or_none()
    if berth is None:
        raise BerthNotFound(berth_id)
    return berth


def _change(berth_id: str, facility_id: str, status: BerthStatus, previous: str, at: float) -> dict:
    """The live event of one berth's status change (the ``parking_berth`` kind)."""
    return {
        "berth_id": berth_id,
        "facility_id": facility_id,
        "status": str(status),
        "previous": str(previous),
        "observed_at": at,
    }


def berth_views(
    session: Session,
    *,
    berth_id: str | None = None,
    facility_id: str | None = None,
    status: str | None = None,
    category: str | None = None,
    limit: int = 500,
    offset: int = 0,
) -> list[dict]:
    """Berths with their state and how it is detected, by id."""
    query = (
        select(Berth, ParkingFacility.barrier)
        .join(ParkingFacility, ParkingFacility.id == Berth.facility_id)
        .order_by(Berth.id)
        .limit(limit)
        .offset(offset)
    )
    for column, value in ((Berth.id, berth_id), (Berth.facility_id, facility_id), (Berth.status, status)):
        if value:
            query = query.where(column == value)
    if category:
        query = query.where(Berth.category == category)
    return [
        {c: getattr(b, c) for c in ("id", "facility_id", "category", "device_id", "status", "status_at", "seen_at")}
        | {
            "detection": str(detection(b.device_id is not None, barrier)),
            "boot": b.status_boot,
            "seq": b.status_seq,
            "sensor_occupied": b.sensor_occupied,
        }
        for b, barrier in session.execute(query)
    ]


def count_events(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(BerthEvent))
