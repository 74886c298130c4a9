"""Air-quality alert rules, evaluated by an RQ job: AQI thresholds, offline stations, sensor faults.

Each rule raises, refreshes or clears one alert per station through services.alerts; the open alert
is the only state between runs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from config.settings import Settings
from services.air_quality.aqi import standard_for
from services.air_quality.aqi_categories import category as aqi_category
from services.air_quality.checks import Quality
from services.air_quality.models import AirHourly, AirReading, AirStation
from services.air_quality.rollup import HOUR, hour_start
from services.alerts import store as alerts
from services.alerts.hysteresis import Decision, ThresholdRule, decide
from services.alerts.logic import Action, Severity

SOURCE = "air_station"
AQI, OFFLINE, FAULT = "air_aqi", "air_station_offline", "air_sensor_fault"
# Sensor fault: raised when this share of a measure's readings in the last hour is flagged (or one is
# stuck), cleared only below the lower share: the same no-flapping idea as the AQI rule.
FAULT_RAISE_SHARE, FAULT_CLEAR_SHARE = 0.5, 0.1
FAULT_MIN_READINGS = 3


@dataclass(frozen=True)
class Liveness:
    """What Redis knows of the stations' devices: last accepted message (epoch s) and last status."""

    last_seen: Mapping[str, float]
    status: Mapping[str, str]


def aqi_rule(settings: Settings) -> ThresholdRule:
    return ThresholdRule(
        threshold=settings.air_alert_aqi,
        hysteresis=settings.air_alert_hysteresis,
        raise_after=settings.air_alert_raise_hours,
        clear_after=settings.air_alert_clear_hours,
    )


def evaluate(session: Session, settings: Settings, liveness: Liveness, now: datetime) -> list[dict]:
    """Apply every air alert rule to every station; return the live events of what changed."""
    events: list[dict] = []
    stations = list(session.scalars(select(AirStation).order_by(AirStation.id)))
    for station in stations:
        for rule in (_aqi, _offline, _fault):
            outcome = rule(session, settings, liveness, station, now)
            if outcome is not None:
                events.append(alerts.event(*outcome))
    return events


def _aqi(session: Session, settings: Settings, _live: Liveness, station: AirStation, now: datetime):
    """Raise after N complete hours at or above the threshold; clear after M hours below it minus hysteresis."""
    rule = aqi_rule(settings)
    last = hour_start(now) - HOUR  # the newest complete hour
    hours = [last - k * HOUR for k in reversed(range(max(rule.raise_after, rule.clear_after)))]
    aqi = dict(
        session.execute(
            select(AirHourly.hour_start, AirHourly.aqi).where(
                AirHourly.station_id == station.id, AirHourly.hour_start.in_(hours)
            )
        ).all()
    )
    samples = [aqi.get(h) for h in hours]
    is_open = alerts.find_open(session, AQI, SOURCE, station.id) is not None
    decision = decide(rule, samples, is_open)
    if decision is Decision.CLEAR:
        return _cleared(session, AQI, station, now)
    latest = samples[-1]
    if decision is Decision.RAISE or (is_open and latest is not None and latest >= rule.threshold):
        category = aqi_category(standard_for(last), latest)
        severity = Severity.CRITICAL if category.level >= 4 else Severity.WARNING
        return _raised(
            session,
            AQI,
            station,
            now,
            severity,
            # The title names the category, not the number: a new AQI each hour is not a new alert.
            f"{station.name_zh}：空气质量{category.zh}",
            f"{station.name_en}: air {category.en.lower()}",
            {"aqi": latest, "hour_start": last.isoformat(), "category": category.to_dict(), "hours": samples},
        )
    return None


def _offline(session: Session, settings: Settings, live: Liveness, station: AirStation, now: datetime):
    seen = live.last_seen.get(station.device_id)
    silent_s = None if seen is None else max(0.0, now.timestamp() - seen)
    said_offline = live.status.get(station.device_id) == "offline"
    if not said_offline and silent_s is not None and silent_s <= settings.air_stale_after_s:
        return _cleared(session, OFFLINE, station, now)
    reason = "last will: offline" if said_offline else "no reading yet" if seen is None else "no recent reading"
    return _raised(
        session,
        OFFLINE,
        station,
        now,
        Severity.WARNING,
        f"{station.name_zh}：离线或数据中断",
        f"{station.name_en}: offline or not reporting",
        {"reason": reason, "silent_s": round(silent_s) if silent_s is not None else None},
    )


def _fault(session: Session, _settings: Settings, _live: Liveness, station: AirStation, now: datetime):
    qualities = session.scalars(
        select(AirReading.quality).where(
            AirReading.station_id == station.id, AirReading.observed_at >= now - HOUR, AirReading.observed_at < now
        )
    ).all()
    if len(qualities) < FAULT_MIN_READINGS:
        return None  # too little to judge; the offline rule covers silence
    codes: Counter[tuple[str, str]] = Counter((m, code) for q in qualities if q for m, code in q.items())
    share: Counter[str] = Counter()
    for (measure, _code), n in codes.items():
        share[measure] += n / len(qualities)
    worst = max(share.values(), default=0.0)
    stuck = sorted({m for (m, code) in codes if code == Quality.STUCK})
    is_open = alerts.find_open(session, FAULT, SOURCE, station.id) is not None
    if stuck or worst >= FAULT_RAISE_SHARE or (is_open and worst >= FAULT_CLEAR_SHARE):
        measures = sorted(m for m, s in share.items() if s >= FAULT_CLEAR_SHARE) or stuck
        return _raised(
            session,
            FAULT,
            station,
            now,
            Severity.WARNING,
            f"{station.name_zh}：传感器故障（{'、'.join(measures)}）",
            f"{station.name_en}: sensor fault ({', '.join(measures)})",
            {"flagged": {f"{m}:{c}": n for (m, c), n in sorted(codes.items())}, "readings": len(qualities)},
        )
    return _cleared(session, FAULT, station, now) if is_open else None


def _raised(session, kind, station, now, severity, title_zh, title_en, detail):
    alert, action = alerts.raise_or_refresh(
        session,
        kind=kind,
        source_type=SOURCE,
        source_id=station.id,
        severity=severity,
        title_zh=title_zh,
        title_en=title_en,
        detail=detail,
        at=now,
        subdistrict_id=station.subdistrict_id,
    )
    return (alert, action) if action else None


def _cleared(session, kind, station, now):
    alert = alerts.clear_condition(session, kind, SOURCE, station.id, now)
    return (alert, Action.CLEARED) if alert else None
