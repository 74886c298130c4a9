"""Open311 datetimes: read leniently, write strictly (W3C ISO-8601 profile, time zone always given).

Clients differ: one sends ``2024-01-01T00:00:00Z``, another ``2026-11-25T02:02:54.574231+00:00``,
a hand-written query ``2026-11-01``. A value without a zone is taken as district time (Beijing time,
UTC+8), which is what a Tianjin user means. Output is whole seconds in Beijing time with its offset.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

BEIJING = timezone(timedelta(hours=8), "CST")  # China has one time zone and no daylight saving


def parse(value: str) -> datetime:
    """An aware datetime from a W3C/ISO-8601 string; ValueError says what was expected."""
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{value!r} is not a W3C date-time such as 2026-11-05T08:15:30+08:00") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=BEIJING)


def format_w3c(moment: datetime | None) -> str | None:
    """``2026-11-05T08:15:30+08:00`` (None stays None: an empty element in XML, null in JSON)."""
    if moment is None:
        return None
    if moment.tzinfo is None:  # SQLite returns naive UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(BEIJING).replace(microsecond=0).isoformat()
