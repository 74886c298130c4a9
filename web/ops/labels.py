"""Words and order the console shows: alert kinds, severities, states, device kinds, dead-letter reasons."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

SEVERITY_RANK = {"critical": 0, "warning": 1, "info": 2}

SEVERITIES = {"critical": _l("Critical"), "warning": _l("Warning"), "info": _l("Info")}
STATES = {"raised": _l("New"), "acknowledged": _l("Acknowledged"), "cleared": _l("Cleared")}
ALERT_KINDS = {
    "air_aqi": _l("Air quality (AQI)"),
    "air_station_offline": _l("Air station offline"),
    "air_sensor_fault": _l("Air sensor fault"),
    "parking_sensors_offline": _l("Parking sensors offline"),
    "queue_backlog": _l("Queue backlog"),
    "jobs_failed": _l("Jobs failed"),
    "requests_overdue": _l("Overdue requests"),
}
DEVICE_KINDS = {"parking_berth": _l("Parking berth sensors"), "air_station": _l("Air stations")}
REASONS = {
    "oversize": _l("Too large"),
    "encoding": _l("Not UTF-8"),
    "bad_json": _l("Not JSON"),
    "invalid": _l("Invalid fields"),
    "out_of_range": _l("Value out of range"),
    "unknown_device": _l("Unknown device"),
    "revoked_device": _l("Revoked device"),
    "bad_topic": _l("Unknown topic"),
}


def inbox_order(alerts: list) -> list:
    """Critical first, then warnings, then the rest; newest first within each."""
    newest_first = sorted(alerts, key=lambda a: (a.raised_at, a.id), reverse=True)
    return sorted(newest_first, key=lambda a: SEVERITY_RANK.get(a.severity, len(SEVERITY_RANK)))


def as_text(mapping: dict) -> dict[str, str]:
    """A label table with its lazy strings resolved, for the page's JSON."""
    return {key: str(value) for key, value in mapping.items()}
