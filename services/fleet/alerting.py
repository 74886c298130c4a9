"""Parking sensors offline: one alert per facility through the alert lifecycle, raised while any of its
sensors is offline or stale, critical from half of them, cleared when all are back.

Air stations are not alerted here: services/air_quality/alerting.py raises ``air_station_offline`` already.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from config.topics import DeviceKind
from services.alerts import store as alerts
from services.alerts.logic import Action
from services.fleet import logic
from services.fleet.logic import DeviceState, Tally
from services.parking.models import ParkingFacility

KIND = "parking_sensors_offline"
SOURCE = "parking_facility"


def evaluate(session: Session, rows: list[dict], now: datetime) -> list[dict]:
    """Raise, refresh or clear each facility's alert from the health ``rows``; return the live events of changes."""
    tallies: dict[str, Tally] = defaultdict(Tally)
    states: dict[str, dict[str, DeviceState]] = defaultdict(dict)
    for r in rows:
        if r["kind"] == DeviceKind.PARKING_BERTH and r["facility_id"]:
            state = DeviceState(r["state"])
            tallies[r["facility_id"]].add(state)
            states[r["facility_id"]][r["device_id"]] = state
    facilities = {f.id: f for f in session.scalars(select(ParkingFacility))}
    events = []
    for facility_id, facility in sorted(facilities.items()):
        outcome = _judge(session, facility, tallies.get(facility_id, Tally()), states.get(facility_id, {}), now)
        if outcome is not None:
            events.append(alerts.event(*outcome))
    # A facility gone from the registry has no sensors left to be offline.
    for alert in alerts.open_alerts(session, KIND):
        if alert.source_type == SOURCE and alert.source_id not in facilities:
            events.append(
                alerts.event(alerts.clear_condition(session, KIND, SOURCE, alert.source_id, now), Action.CLEARED)
            )
    return events


def _judge(session: Session, facility: ParkingFacility, tally: Tally, states: dict[str, DeviceState], now: datetime):
    severity = logic.sensors_offline_severity(tally)
    if severity is None:
        alert = alerts.clear_condition(session, KIND, SOURCE, facility.id, now)
        return (alert, Action.CLEARED) if alert else None
    down = logic.worst_first(states)
    alert, action = alerts.raise_or_refresh(
        session,
        kind=KIND,
        source_type=SOURCE,
        source_id=facility.id,
        severity=severity,
        title_zh=f"{facility.name_zh}：{tally.not_online}/{tally.total} 个车位传感器离线或无数据",
        title_en=f"{facility.name_en}: {tally.not_online} of {tally.total} parking sensors offline or silent",
        detail={
            "total": tally.total,
            "online": tally.online,
            "stale": tally.stale,
            "offline": tally.offline,
            "device_ids": down[: logic.MAX_LISTED_IDS],
            "more": max(0, len(down) - logic.MAX_LISTED_IDS),
        },
        at=now,
        subdistrict_id=facility.subdistrict_id,
    )
    return (alert, action) if action else None
