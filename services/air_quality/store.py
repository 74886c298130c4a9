"""Air-quality queries and the reading write path."""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from datetime import UTC, datetime

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from services.air_quality.checks import HISTORY, Sample, check
from services.air_quality.measures import MEASURES
from services.air_quality.models import AirReading, AirStation
from services.air_quality.rollups import mark_dirty
from services.db import insert_ignoring_duplicates
from services.pipeline.identity import newest_by
from services.types import utc_from_epoch


def record_air_readings(session: Session, rows: list[dict]) -> tuple[int, list[dict]]:
    """Store a batch of readings once each, with their quality codes, and point each station at its newest.

    The new readings' hours are marked for the next rollup in the same transaction. Returns how many
    readings were new and each station's newest new reading.
    """
    stored = [
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
    ]
    _judge(session, stored)
    inserted = insert_ignoring_duplicates(
        session,
        AirReading,
        stored,
        ["device_id", "boot", "seq"],
        returning=(AirReading.id, AirReading.device_id, AirReading.boot, AirReading.seq),
    )
    ids = {(d, b, s): rid for rid, d, b, s in inserted}
    quality = {(r["device_id"], r["boot"], r["seq"]): r["quality"] for r in stored}
    fresh = [
        r | {"id": ids[key], "quality": quality[key]}
        for r in rows
        if (key := (r["device_id"], r["boot"], r["seq"])) in ids
    ]
    mark_dirty(session, [r for r in stored if (r["device_id"], r["boot"], r["seq"]) in ids], datetime.now(UTC))
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
        {"station_id": sid, "observed_at": r["observed_at"]}
        | {m: r.get(m) for m in MEASURES if r.get(m) is not None}
        | ({"quality": r["quality"]} if r["quality"] else {})
        for sid, r in newest.items()
    ]


def _judge(session: Session, rows: list[dict]) -> None:
    """Set each row's ``quality`` from the plausibility checks against its station's earlier readings.

    History is what is stored plus the batch itself, by observation time: a late reading is judged
    against the readings before it; readings already stored are never judged again.
    """
    if not rows:
        return
    first = min(r["observed_at"] for r in rows) - HISTORY
    last = max(r["observed_at"] for r in rows)
    series: dict[str, dict[tuple, Sample]] = defaultdict(dict)
    stored = session.execute(
        select(AirReading.station_id, AirReading.device_id, AirReading.boot, AirReading.seq, AirReading.observed_at)
        .add_columns(*(getattr(AirReading, m) for m in MEASURES))
        .where(
            AirReading.station_id.in_({r["station_id"] for r in rows}),
            AirReading.observed_at >= first,
            AirReading.observed_at < last,
        )
    )
    for station_id, device_id, boot, seq, observed_at, *values in stored:
        series[station_id][(device_id, boot, seq)] = Sample(observed_at, dict(zip(MEASURES, values, strict=True)))
    for r in rows:
        identity = (r["device_id"], r["boot"], r["seq"])
        series[r["station_id"]].setdefault(identity, Sample(r["observed_at"], {m: r[m] for m in MEASURES}))
    ordered = {sid: sorted(samples.values(), key=lambda s: s.observed_at) for sid, samples in series.items()}
    times = {sid: [s.observed_at for s in samples] for sid, samples in ordered.items()}
    for r in rows:
        samples = ordered[r["station_id"]]
        end = bisect_left(times[r["station_id"]], r["observed_at"])
        start = bisect_left(times[r["station_id"]], r["observed_at"] - HISTORY)
        flags = check(Sample(r["observed_at"], {m: r[m] for m in MEASURES}), samples[start:end])
        r["quality"] = flags or None


def latest_readings(session: Session) -> list[tuple[AirStation, AirReading | None]]:
    query = (
        select(AirStation, AirReading)
        .outerjoin(AirReading, AirReading.id == AirStation.latest_reading_id)
        .order_by(AirStation.id)
    )
    return [(station, reading) for station, reading in session.execute(query)]


def count_readings(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(AirReading))
