"""The KPI board's records and trends (pure): value against target, met or not, from figures computed elsewhere.

Each KPI reuses the module that owns its figure: parking's smart-managed share (services/parking/kpis.py),
the air-quality PM2.5 KPI (services/air_quality/kpi.py), the requests' SLA compliance
(services/service_requests/stats.py). Only sensor availability is computed here (``fleet_summary``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from enum import StrEnum

RATIO, UG_M3 = "ratio", "µg/m³"
SMART_BERTHS_TARGET = 0.75  # plan: 75 % of berths under smart management (= parking.kpis.SMART_SHARE_TARGET)
# Our operating target, not the plan's: the plan names no SLA figure; 90 % is what the centres aim for.
REQUESTS_WITHIN_SLA_TARGET = 0.9
SENSOR_AVAILABILITY_TARGET = 0.95  # our operating target for the sensor fleet
REQUESTS_WINDOW_DAYS = 30  # requests submitted in the last 30 days count for the SLA share


class Direction(StrEnum):
    AT_LEAST = "at_least"  # met when value >= target
    AT_MOST = "at_most"  # met when value <= target


class KpiId(StrEnum):
    SMART_BERTHS = "smart_berths"
    PM25 = "pm25"
    REQUESTS_WITHIN_SLA = "requests_within_sla"
    SENSOR_AVAILABILITY = "sensor_availability"


LABELS: dict[KpiId, tuple[str, str]] = {
    KpiId.SMART_BERTHS: ("智慧管理泊位占比", "Smart-managed berths"),
    KpiId.PM25: ("PM2.5 年均浓度（近365天）", "PM2.5 annual mean (last 365 days)"),
    KpiId.REQUESTS_WITHIN_SLA: ("按时办结的服务申请（近30天）", "Requests resolved within SLA (last 30 days)"),
    KpiId.SENSOR_AVAILABILITY: ("传感器在线率", "Sensor availability"),
}
ORDER = tuple(KpiId)  # the board shows the KPIs in this order


def met(value: float | None, target: float | None, direction: Direction) -> bool | None:
    """Whether the value reaches the target; None when either is unknown (nothing to judge)."""
    if value is None or target is None:
        return None
    return value >= target if direction is Direction.AT_LEAST else value <= target


def record(
    kpi: KpiId,
    value: float | None,
    unit: str,
    target: float | None,
    direction: Direction,
    detail: dict,
    limit: float | None = None,
) -> dict:
    """One KPI as the board and the API show it."""
    label_zh, label_en = LABELS[kpi]
    return {
        "id": str(kpi),
        "label_zh": label_zh,
        "label_en": label_en,
        "value": value,
        "unit": unit,
        "target": target,
        "direction": str(direction),
        "limit": limit,
        "met": met(value, target, direction),
        "detail": detail,
    }


def smart_berths(share: dict) -> dict:
    """From ``parking.kpis.smart_share(...)["district"]``: smart-managed berths against all berths."""
    return record(
        KpiId.SMART_BERTHS,
        share["share"],
        RATIO,
        SMART_BERTHS_TARGET,
        Direction.AT_LEAST,
        {"smart_managed": share["smart_managed"], "berths": share["berths"]},
    )


def pm25(rolling: dict) -> dict:
    """From ``air_quality.kpi.pm25_kpi(...)["rolling_365"]``: the 365 days ending yesterday.

    The value is the mean of the valid days even when there are fewer than GB 3095 needs for an annual
    mean (``detail.valid`` false): a young deployment still sees where it stands, marked provisional.
    """
    limits = rolling["limits"]
    detail = {
        "valid": rolling["valid"],
        "valid_days": rolling["valid_days"],
        "first_day": rolling["first"].isoformat(),
        "last_day": rolling["last"].isoformat(),
        "baseline": rolling["baseline"]["value"],
        "baseline_label": rolling["baseline"]["label"],
        "reduction": rolling["reduction"],
        "standard": limits["standard"],
        "standard_zh": limits["standard_zh"],
        "days_over_daily_limit": rolling["days_over_daily_limit"],
    }
    value = rolling["partial_mean"]
    return record(
        KpiId.PM25,
        round(value, 1) if value is not None else None,
        UG_M3,
        rolling["target"],
        Direction.AT_MOST,
        detail,
        limit=limits["annual"],
    )


def requests_within_sla(resolution, response) -> dict:
    """From ``service_requests.stats.compliance(...)``: resolution clocks finished within their budget.

    A request meets its SLA when it is resolved within its resolution budget; requests still open are
    left out until they finish (their count is in the detail), refused ones have no resolution clock.
    """
    return record(
        KpiId.REQUESTS_WITHIN_SLA,
        resolution.share,
        RATIO,
        REQUESTS_WITHIN_SLA_TARGET,
        Direction.AT_LEAST,
        {
            "window_days": REQUESTS_WINDOW_DAYS,
            "met": resolution.met,
            "missed": resolution.missed,
            "running": resolution.running,
            "running_late": resolution.running_late,
            "response_share": response.share,
        },
    )


def sensor_availability(fleet: dict | None) -> dict:
    """From services/fleet's summary: the online share of active sensors, all kinds together (None: state unknown)."""
    if fleet is None:
        value, detail = None, {"unavailable": True}
    else:
        kinds = [{k: kind[k] for k in ("kind", *COUNTS, "availability")} for kind in fleet["kinds"]]
        totals = {k: sum(kind[k] for kind in kinds) for k in COUNTS}
        value = round(totals["online"] / totals["total"], 4) if totals["total"] else None
        detail = totals | {"kinds": kinds}
    return record(KpiId.SENSOR_AVAILABILITY, value, RATIO, SENSOR_AVAILABILITY_TARGET, Direction.AT_LEAST, detail)


COUNTS = ("total", "online", "stale", "offline")


# -- trend ----------------------------------------------------------------------------------------
def trend(values: Mapping[date, float], last_day: date, days: int) -> list[dict]:
    """The recorded values of the ``days`` days ending ``last_day``, oldest first; days without one left out."""
    first = last_day - timedelta(days=days - 1)
    return [{"day": d.isoformat(), "value": values[d]} for d in sorted(values) if first <= d <= last_day]


def snapshot_rows(kpis: Iterable[dict]) -> list[tuple[str, float]]:
    """(kpi id, value) of each KPI that has a value today: a day without one keeps no row."""
    return [(k["id"], float(k["value"])) for k in kpis if k["value"] is not None]
