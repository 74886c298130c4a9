"""Delete raw rows past their retention, in small batches, keeping every hour that is not rolled up yet.

Each DELETE removes at most BATCH_ROWS rows by primary key and commits on its own: a long purge holds
no lock for long, and a purge stopped half-way (a job timeout, a restart) has kept what it did.
Idempotent: a second run finds nothing more to delete.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from services.air_quality.models import AirDirtyHour, AirHourly, AirReading, AirStation
from services.air_quality.rollup import hour_start
from services.db import transaction
from services.parking.models import Berth, BerthEvent
from services.retention.policy import BATCH_ROWS, chunks, cutoff, purgeable_ranges

log = logging.getLogger(__name__)

BERTHS_PER_STATEMENT = 500  # berth ids per query: each probes the (berth_id, observed_at) index


def run_retention(sessions: sessionmaker[Session], settings: Settings, now: datetime, dry_run: bool = False) -> dict:
    """Apply AIR_RAW_RETENTION_DAYS and PARKING_EVENT_RETENTION_DAYS; return, per table, the cut-off and the
    rows deleted (with ``dry_run``: the rows that would be)."""
    started = time.monotonic()
    report = {"dry_run": dry_run}
    for table, days, purge in (
        ("air_readings", settings.air_raw_retention_days, purge_air_readings),
        ("berth_events", settings.parking_event_retention_days, purge_berth_events),
    ):
        cut = cutoff(now, days)
        rows = purge(sessions, cut, dry_run=dry_run) if cut else 0
        report[table] = {"retention_days": days, "cutoff": cut.isoformat() if cut else None, "rows": rows}
    report["seconds"] = round(time.monotonic() - started, 2)
    log.info("retention: %s", report)
    return report


def purge_air_readings(sessions: sessionmaker[Session], cut: datetime, dry_run: bool = False) -> int:
    """Delete the air readings of whole hours before ``cut`` that are rolled up and not dirty.

    Each station's newest reading stays (its latest-reading pointer, shown on the live pages).
    """
    total = 0
    with sessions() as session:
        stations = session.execute(select(AirStation.id, AirStation.latest_reading_id)).all()
    for station_id, newest_id in stations:
        with sessions() as session:
            spans = _air_spans(session, station_id, cut)
        for start, end in spans:
            ids = select(AirReading.id).where(
                AirReading.station_id == station_id, AirReading.observed_at >= start, AirReading.observed_at < end
            )
            if newest_id is not None:
                ids = ids.where(AirReading.id != newest_id)
            total += _delete(sessions, AirReading, ids, dry_run)
    return total


def _air_spans(session: Session, station_id: str, cut: datetime) -> list[tuple[datetime, datetime]]:
    oldest = session.scalar(select(func.min(AirReading.observed_at)).where(AirReading.station_id == station_id))
    if oldest is None or oldest >= cut:
        return []
    rolled = session.scalars(
        select(AirHourly.hour_start).where(
            AirHourly.station_id == station_id,
            AirHourly.hour_start >= hour_start(oldest),
            AirHourly.hour_start < cut,
        )
    )
    dirty = session.scalars(
        select(AirDirtyHour.hour_start).where(AirDirtyHour.station_id == station_id, AirDirtyHour.hour_start < cut)
    )
    return purgeable_ranges(rolled, dirty, cut)


def purge_berth_events(sessions: sessionmaker[Session], cut: datetime, dry_run: bool = False) -> int:
    """Delete the berth sensor events observed before ``cut`` (berth states and occupancy snapshots stay)."""
    with sessions() as session:
        berths = list(session.scalars(select(Berth.id).order_by(Berth.id)))
    total = 0
    for some in chunks(berths, BERTHS_PER_STATEMENT):
        ids = select(BerthEvent.id).where(BerthEvent.berth_id.in_(some), BerthEvent.observed_at < cut)
        total += _delete(sessions, BerthEvent, ids, dry_run)
    return total


def _delete(sessions: sessionmaker[Session], model, ids, dry_run: bool) -> int:
    """Delete the rows whose id ``ids`` selects, BATCH_ROWS per transaction; return how many (or would go)."""
    if dry_run:
        with sessions() as session:
            return session.scalar(select(func.count()).select_from(ids.subquery()))
    total = 0
    while True:
        with transaction(sessions) as session:
            statement = delete(model).where(model.id.in_(ids.limit(BATCH_ROWS).scalar_subquery()))
            deleted = session.execute(statement.execution_options(synchronize_session=False)).rowcount
        total += deleted
        if deleted < BATCH_ROWS:
            return total
