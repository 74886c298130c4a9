"""The air-quality page (/air) for residents and the environment bureau, and one page per station.

Server-rendered first: each station's current AQI, category, primary pollutant and advice come from the
AQI module in Jinja; air.js then draws the map and charts and keeps the figures live from the stream.
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, render_template, url_for
from flask_babel import gettext as _

from services.air_quality.aqi_china import CHINA_TZ
from services.air_quality.checks import Quality
from services.air_quality.kpi import (
    ANNUAL_MIN_DAYS,
    FEBRUARY_MIN_DAYS,
    MONTH_MIN_DAYS,
    pm25_limits,
)
from services.air_quality.queries import pm25_kpi_report
from services.air_quality.rollup import SLOT
from services.air_quality.store import latest_readings
from services.alerts.store import list_alerts
from services.extensions import db, runtime
from web.air.now import MEASURE_LABELS, headline, legend_bands, stations_now
from web.i18n import current_lang

bp = Blueprint("air_page", __name__, template_folder="templates")

STATION_PLACEHOLDER = "__station__"  # air.js puts the station's id in the series URL
REPORT_MINUTES = int(SLOT.total_seconds() // 60)  # a station reports at least once per rollup slot


def _labels() -> dict:
    return {
        "quality_labels": {
            Quality.INCONSISTENT: _("PM2.5 above PM10"),
            Quality.STUCK: _("stuck sensor"),
            Quality.SPIKE: _("implausible jump"),
        },
        "measure_names": {"temperature": _("Temperature"), "humidity": _("Humidity")},
        "severity_labels": {"info": _("info"), "warning": _("warning"), "critical": _("critical")},
    }


def _kpi(today) -> dict:
    """The district's PM2.5 KPI: this year and the last 365 days (reference stations' daily means)."""
    return pm25_kpi_report(db(), runtime().settings, today, today.year)


def _air_alerts(station_id: str | None = None) -> list:
    """Open alerts about air stations (one station's when given), newest first."""
    filters = {"source_type": "air_station", "open": True, "source_id": station_id}
    alerts, _total = list_alerts(db(), filters, 0, 50)
    return alerts


def _common(stations, station_id: str | None = None) -> dict:
    lang = current_lang()
    today = datetime.now(CHINA_TZ).date()
    return {
        "lang": lang,
        "stations": stations,
        "stations_json": [s.to_json(lang) for s in stations],
        "report_minutes": REPORT_MINUTES,
        "annual_min_days": ANNUAL_MIN_DAYS,
        "month_min_days": MONTH_MIN_DAYS,
        "february_min_days": FEBRUARY_MIN_DAYS,
        "measure_labels": MEASURE_LABELS,
        "legend_bands": legend_bands(),
        "aqi_url": url_for("air.AqiCalculator"),
        "series_url": url_for("air_data.Series", station_id=STATION_PLACEHOLDER),
        "daily_limit": pm25_limits(today).daily,
        "alert_aqi": runtime().settings.air_alert_aqi,
        "alert_hours": runtime().settings.air_alert_raise_hours,
        "alerts": _air_alerts(station_id),
    } | _labels()


@bp.get("/air")
def index():
    stations = stations_now(latest_readings(db()))
    today = datetime.now(CHINA_TZ).date()
    return render_template("air/index.html", main=headline(stations), kpi=_kpi(today), **_common(stations))


@bp.get("/air/<station_id>")
def station(station_id: str):
    stations = stations_now(latest_readings(db()))
    this = next((s for s in stations if s.station.id == station_id), None)
    if this is None:
        return render_template("air/missing.html", station_id=station_id), 404
    return render_template("air/station.html", this=this, **_common(stations, station_id))
