"""Parking queries and the berth-event write path."""

from __future__ import annotations

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from services.db import insert_ignoring_duplicates
from services.parking.logic import next_status
from services.parking.models import Berth, BerthEvent, ParkingFacility
from services.pipeline.identity import newest_by
from services.types import utc_from_epoch


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
        updates.append(
            {
                "b_id": berth_id,
                "b_status": str(new),
                "b_boot": event["boot"],
                "b_seq": event["seq"],
                "b_at": utc_from_epoch(event["observed_at"]),
            }
        )
        if new != status:
            changes.append(
                {
                    "berth_id": berth_id,
                    "facility_id": event["facility_id"],
                    "status": str(new),
                    "previous": status,
                    "observed_at": event["observed_at"],
                }
            )
    if updates:
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
            ),
            updates,
        )
    return len(fresh), changes


def berth_states(session: Session, facility_id: str | None = None, limit: int = 500, offset: int = 0):
    query = select(Berth).where(Berth.smart.is_(True)).order_by(Berth.id).limit(limit).offset(offset)
    if facility_id:
        query = query.where(Berth.facility_id == facility_id)
    return list(session.scalars(query))


def facility_counts(session: Session) -> list[dict]:
    """Per facility: berths in total and by current status (derived, never stored twice)."""
    rows = session.execute(
        select(ParkingFacility, Berth.status, func.count(Berth.id))
        .join(Berth, Berth.facility_id == ParkingFacility.id)
        .group_by(ParkingFacility.id, Berth.status)
        .order_by(ParkingFacility.id)
    ).all()
    result: dict[str, dict] = {}
    for facility, status, count in rows:
        entry = result.setdefault(facility.id, {"facility": facility, "total": 0, "counts": {}})
        entry["total"] += count
        entry["counts"][status] = count
    return list(result.values())


def count_events(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(BerthEvent))
