"""Air-quality queries and the reading write path."""

from __future__ import annotations

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from services.air_quality.models import MEASURES, AirReading, AirStation
from services.db import insert_ignoring_duplicates
from services.pipeline.identity import newest_by
from services.types import utc_from_epoch


def record_air_readings(session: Session, rows: list[dict]) -> tuple[int, list[dict]]:
    """Store a batch of readings once each and point each station at its newest.

    Returns how many readings were new and each station's newest new reading.
    """
    inserted = insert_ignoring_duplicates(
        session,
        AirReading,
        [
            {
                "device_id": r["device_id"],
                "boot": r["boot"],
                "seq": r["seq"],
                "station_id": r["station_id"],
                "observed_at": utc_from_epoch(r["observed_at"]),
                "received_at": utc_from_epoch(r["received_at"]),
            }
            | {m: r.get(m) for m in MEASURES}
            for r in rows
        ],
        ["device_id", "boot", "seq"],
        returning=(AirReading.id, AirReading.device_id, AirReading.boot, AirReading.seq),
    )
    ids = {(d, b, s): rid for rid, d, b, s in inserted}
    fresh = [r | {"id": ids[key]} for r in rows if (key := (r["device_id"], r["boot"], r["seq"])) in ids]
    newest = newest_by(fresh, "station_id")
    if newest:
        session.connection().execute(
            update(AirStation)
            .where(AirStation.id == bindparam("s_id"))
            .where(
                or_(
                    AirStation.latest_boot.is_(None),
                    AirStation.latest_boot < bindparam("s_boot"),
                    and_(AirStation.latest_boot == bindparam("s_boot"), AirStation.latest_seq < bindparam("s_seq")),
                )
            )
            .values(
                latest_reading_id=bindparam("s_rid"), latest_boot=bindparam("s_boot"), latest_seq=bindparam("s_seq")
            ),
            [{"s_id": sid, "s_rid": r["id"], "s_boot": r["boot"], "s_seq": r["seq"]} for sid, r in newest.items()],
        )
    return len(ids), [
        {"station_id": sid, "observed_at": r["observed_at"]} | {m: r.get(m) for m in MEASURES if r.get(m) is not None}
        for sid, r in newest.items()
    ]


def latest_readings(session: Session) -> list[tuple[AirStation, AirReading | None]]:
    query = (
        select(AirStation, AirReading)
        .outerjoin(AirReading, AirReading.id == AirStation.latest_reading_id)
        .order_by(AirStation.id)
    )
    return [(station, reading) for station, reading in session.execute(query)]


def count_readings(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(AirReading))
