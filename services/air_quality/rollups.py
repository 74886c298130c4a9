"""The rollup write path: hours marked dirty by the ingest are rolled up, then the days they touch.

Idempotent: a rollup replaces the hour's (and day's) row, so re-running it, or rolling an hour again
after a late reading, leaves the one right answer.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import delete, select, tuple_
from sqlalchemy.orm import Session

from services.air_quality.measures import MEASURES
from services.air_quality.models import AirDaily, AirDirtyHour, AirHourly, AirReading, AirStation
from services.air_quality.rollup import (
    HOUR,
    RawReading,
    daily_means,
    day_hours,
    hour_start,
    hourly_aqi,
    hourly_means,
    local_day,
)


def upsert(session: Session, model, rows: list[dict], keys: list[str]) -> None:
    """INSERT … ON CONFLICT (keys) DO UPDATE every other column: the row becomes exactly ``rows``' values."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(model)
    updated = {c: stmt.excluded[c] for c in rows[0] if c not in keys}
    session.execute(stmt.on_conflict_do_update(index_elements=keys, set_=updated), rows)


def mark_dirty(session: Session, readings: list[dict], now: datetime) -> None:
    """Mark the (station, hour) of each new reading for the next rollup (in the readings' transaction)."""
    hours = {(r["station_id"], hour_start(r["observed_at"])) for r in readings}
    upsert(
        session,
        AirDirtyHour,
        [{"station_id": s, "hour_start": h, "marked_at": now} for s, h in sorted(hours)],
        ["station_id", "hour_start"],
    )


def roll_up_dirty(session: Session, now: datetime | None = None, frozen_before: datetime | None = None) -> dict:
    """Roll up every dirty hour and the local days holding them; return what was rolled.

    ``frozen_before`` (the raw-retention cut-off): an hour before it that was rolled up already keeps its
    row, whatever arrived since. Its raw readings may be gone, so rolling it again would compute its means
    from a late straggler alone and overwrite the right answer.
    """
    now = now or datetime.now(UTC)
    marks = session.execute(select(AirDirtyHour.station_id, AirDirtyHour.hour_start, AirDirtyHour.marked_at)).all()
    old = {(s, h) for s, h, _ in marks if frozen_before and h < frozen_before}
    frozen = _rolled_before(session, old) if old else set()
    hours = sorted({(s, h) for s, h, _ in marks} - frozen)
    days = sorted({(s, local_day(h)) for s, h in hours})
    if hours:
        roll_up_hours(session, hours, now)
        roll_up_days(session, days, now)
    # A mark bumped while we worked (a reading arrived meanwhile) stays for the next run; a frozen hour's goes.
    for station_id, hour, marked_at in marks:
        session.execute(
            delete(AirDirtyHour).where(
                AirDirtyHour.station_id == station_id,
                AirDirtyHour.hour_start == hour,
                AirDirtyHour.marked_at == marked_at,
            )
        )
    summary = {"hours": len(hours), "days": len(days)}
    return (summary | {"frozen": len(frozen)}) if frozen_before else summary


def _rolled_before(session: Session, hours: set[tuple[str, datetime]]) -> set[tuple[str, datetime]]:
    """Those of these (station, hour) pairs that have an hourly row."""
    pairs = tuple_(AirHourly.station_id, AirHourly.hour_start)
    rows = session.execute(select(AirHourly.station_id, AirHourly.hour_start).where(pairs.in_(sorted(hours))))
    return {(s, h) for s, h in rows}


def roll_up_hours(session: Session, hours: list[tuple[str, datetime]], now: datetime) -> None:
    """Recompute the hourly rows of these (station, UTC hour start) pairs from the stored readings."""
    measured = dict(session.execute(select(AirStation.id, AirStation.pollutants)).all())
    rows = []
    for station_id, start in hours:
        readings = session.execute(
            select(AirReading.observed_at, AirReading.quality, *(getattr(AirReading, m) for m in MEASURES)).where(
                AirReading.station_id == station_id,
                AirReading.observed_at >= start,
                AirReading.observed_at < start + HOUR,
            )
        ).all()
        result = hourly_means(
            start, (RawReading(r[0], dict(zip(MEASURES, r[2:], strict=True)), r[1]) for r in readings)
        )
        aqi = hourly_aqi(start, result.means, measured.get(station_id) or [])
        rows.append(
            {"station_id": station_id, "hour_start": start}
            | result.means
            | {
                "slots": result.slots,
                "flagged": result.flagged,
                "aqi": aqi.aqi,
                "aqi_standard": aqi.standard,
                "primary_pollutants": aqi.primary_pollutants,
                "computed_at": now,
            }
        )
    upsert(session, AirHourly, rows, ["station_id", "hour_start"])


def roll_up_days(session: Session, days: list[tuple[str, date]], now: datetime) -> None:
    """Recompute the daily rows of these (station, local day) pairs from the hourly rows."""
    rows = []
    for station_id, day in days:
        hours = day_hours(day)
        hourly = {
            h.hour_start: {m: getattr(h, m) for m in MEASURES}
            for h in session.scalars(
                select(AirHourly).where(
                    AirHourly.station_id == station_id,
                    AirHourly.hour_start >= hours[0],
                    AirHourly.hour_start <= hours[-1],
                )
            )
        }
        result = daily_means(day, hourly)
        rows.append(
            {"station_id": station_id, "day": day}
            | result.means
            | {"o3_8h_max": result.o3_8h_max, "hours": result.hours, "computed_at": now}
        )
    upsert(session, AirDaily, rows, ["station_id", "day"])
