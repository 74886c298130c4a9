"""The KPIs now, from the modules that own each figure; today's snapshot and the trend from the database."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from redis import Redis, RedisError
from sqlalchemy import select
from sqlalchemy.orm import Session

from config.settings import Settings
from config.topics import RedisKeys
from services.accounts.roles import SYSTEM
from services.air_quality.queries import pm25_kpi_report
from services.air_quality.rollups import upsert
from services.fleet.store import summary as fleet_summary
from services.kpi import logic
from services.kpi.models import KpiSnapshot
from services.parking.kpis import berth_inventory, smart_share
from services.service_requests.catalogue import district_catalogue
from services.service_requests.stats import compliance
from services.service_requests.stats_range import Window, local_day
from services.service_requests.stats_store import load_facts


def current_kpis(session: Session, redis: Redis, keys: RedisKeys, settings: Settings, now: datetime) -> list[dict]:
    """Every KPI's record (logic.record) as of ``now``, in the board's order."""
    today = local_day(now)
    air = pm25_kpi_report(session, settings, today, today.year)
    span = Window(today - timedelta(days=logic.REQUESTS_WINDOW_DAYS - 1), today)
    slas = {code: service.sla for code, service in district_catalogue(settings.district_file).services.items()}
    sla = compliance(load_facts(session, SYSTEM, span), slas, now)
    return [
        logic.smart_berths(smart_share(berth_inventory(session))["district"]),
        logic.pm25(air["rolling_365"]),
        logic.requests_within_sla(sla["resolution"], sla["response"]),
        logic.sensor_availability(_fleet(session, redis, keys, settings, now)),
    ]


def _fleet(session: Session, redis: Redis, keys: RedisKeys, settings: Settings, now: datetime) -> dict | None:
    try:
        return fleet_summary(session, redis, keys, settings, now)
    except RedisError:  # the live state is away: the other KPIs come from the database and still show
        return None


def save_snapshot(session: Session, kpis: list[dict], now: datetime) -> int:
    """Set today's value of each KPI that has one (a rerun the same day overwrites it); how many rows."""
    day = local_day(now)
    rows = [
        {"kpi_id": kpi_id, "day": day, "value": value, "recorded_at": now}
        for kpi_id, value in logic.snapshot_rows(kpis)
    ]
    upsert(session, KpiSnapshot, rows, ["kpi_id", "day"])
    return len(rows)


def recorded_values(session: Session, first: date, last: date) -> dict[str, dict[date, float]]:
    """kpi id -> day -> value, for the days ``first`` .. ``last``."""
    values: dict[str, dict[date, float]] = defaultdict(dict)
    query = select(KpiSnapshot.kpi_id, KpiSnapshot.day, KpiSnapshot.value).where(
        KpiSnapshot.day >= first, KpiSnapshot.day <= last
    )
    for kpi_id, day, value in session.execute(query):
        values[kpi_id][day] = value
    return values


def with_trends(session: Session, kpis: list[dict], now: datetime, days: int) -> list[dict]:
    """The KPIs, each with its recorded values of the last ``days`` days (today included), oldest first."""
    last = local_day(now)
    values = recorded_values(session, last - timedelta(days=days - 1), last)
    return [kpi | {"trend": logic.trend(values.get(kpi["id"], {}), last, days)} for kpi in kpis]
