"""Read side of the air-quality module: series at three resolutions, latest hourly AQI, KPI inputs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from enum import StrEnum
from statistics import fmean

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.air_quality.models import AirDaily, AirHourly, AirReading, AirStation

# Reference-grade stations: the district's KPI is theirs; micro sensors indicate, they do not assess.
REFERENCE_KINDS = ("national", "municipal")


class Resolution(StrEnum):
    RAW = "raw"
    HOURLY = "hourly"
    DAILY = "daily"


_SERIES = {
    Resolution.RAW: (AirReading, AirReading.observed_at),
    Resolution.HOURLY: (AirHourly, AirHourly.hour_start),
    Resolution.DAILY: (AirDaily, AirDaily.day),
}


def series_query(station_id: str, resolution: Resolution, start: datetime | date, end: datetime | date):
    """SELECT of one station's rows in [start, end), oldest first."""
    model, at = _SERIES[Resolution(resolution)]
    return select(model).where(model.station_id == station_id, at >= start, at < end).order_by(at)


def series_page(session: Session, query, offset: int, limit: int) -> tuple[list, int]:
    """One page of a series query and the total row count."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    if offset >= total:  # past the end, however far (a page number beyond a bigint OFFSET was a 500)
        return [], total
    return list(session.scalars(query.offset(offset).limit(limit))), total


def series_rows(session: Session, query, chunk: int = 1000) -> Iterator:
    """Every row of a series query, fetched in chunks (for the CSV export)."""
    yield from session.scalars(query.execution_options(yield_per=chunk))


def latest_hourly(session: Session) -> dict[str, AirHourly]:
    """Each station's newest hourly row that has an AQI."""
    newest = (
        select(AirHourly.station_id, func.max(AirHourly.hour_start).label("hour_start"))
        .where(AirHourly.aqi.is_not(None))
        .group_by(AirHourly.station_id)
        .subquery()
    )
    rows = session.scalars(
        select(AirHourly).join(
            newest,
            (AirHourly.station_id == newest.c.station_id) & (AirHourly.hour_start == newest.c.hour_start),
        )
    )
    return {h.station_id: h for h in rows}


def daily_pm25(session: Session, first: date, last: date, station_id: str | None = None) -> dict[date, float | None]:
    """Valid daily PM2.5 means in [first, last]: one station's, or the mean over the reference stations."""
    query = select(AirDaily.day, AirDaily.pm25).where(
        AirDaily.day >= first, AirDaily.day <= last, AirDaily.pm25.is_not(None)
    )
    if station_id:
        query = query.where(AirDaily.station_id == station_id)
    else:
        reference = select(AirStation.id).where(AirStation.kind.in_(REFERENCE_KINDS))
        query = query.where(AirDaily.station_id.in_(reference))
    by_day: dict[date, list[float]] = defaultdict(list)
    for day, value in session.execute(query):
        by_day[day].append(value)
    return {day: fmean(values) for day, values in by_day.items()}


def pm25_kpi_report(session: Session, settings, today: date, year: int, station_id: str | None = None) -> dict:
    """The plan's PM2.5 KPI (``kpi.pm25_kpi``) for a year and the last 365 days, from the daily means:
    the district's reference stations, or one station; the baseline as configured."""
    from services.air_quality.kpi import Baseline, pm25_kpi

    first = min(date(year, 1, 1), today - timedelta(days=365))
    daily = daily_pm25(session, first, today, station_id)
    return pm25_kpi(daily, today, year, Baseline(settings.air_pm25_baseline, settings.air_pm25_baseline_label))
