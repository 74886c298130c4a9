"""CSV files of the statistics and of the requests (pure): safe to open in Excel, and free of personal data.

CSV files travel (e-mail, USB sticks, shared drives), so the request export has a fixed list of columns
and none of them is a resident's name, phone, e-mail, address or the free-text description. Cells are
written so that Excel on a Chinese Windows opens them right (UTF-8 with a byte-order mark) and never
runs them: a text cell starting with = + - @ (or a tab / carriage return) gets a leading apostrophe
(OWASP "CSV injection").
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from services.service_requests.ids import LOCAL
from services.service_requests.lifecycle import open311_status
from services.service_requests.stats import RequestFacts, RequestStats

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

EXPORT_COLUMNS = (
    "service_request_id",
    "service_code",
    "service_name_zh",
    "category",
    "category_name_zh",
    "community_id",
    "community_name_zh",
    "status",
    "open311_status",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "first_response_hours",
    "resolution_hours",
    "overdue",
)
STATS_COLUMNS = ("section", "key", "name_zh", "name_en", "value")


def cell(value) -> str | int | float:
    """One value as the CSV writes it: local ISO times, numbers as they are, text defused against formulas."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(LOCAL).isoformat(timespec="seconds")
    if isinstance(value, int | float):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def write_csv(header: Sequence[str], rows: Iterable[Sequence]) -> bytes:
    """UTF-8 with a byte-order mark, CRLF line ends (RFC 4180)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([cell(v) for v in row] for row in rows)
    return (BOM + out.getvalue()).encode("utf-8")


def export_rows(
    facts: Iterable[RequestFacts],
    service_names: Mapping[str, str],
    category_names: Mapping[str, str],
    community_names: Mapping[str, str],
    now: datetime,
) -> Iterable[tuple]:
    """One row per request in EXPORT_COLUMNS order (names in Chinese: the file is for the centres)."""
    for f in facts:
        yield (
            f.public_id,
            f.service_code,
            service_names.get(f.service_code, ""),
            f.category,
            category_names.get(f.category, ""),
            f.community_id,
            community_names.get(f.community_id, ""),
            str(f.status),
            open311_status(f.status),
            f.requested_at,
            f.updated_at,
            f.resolution_due_at,
            _rounded(f.hours_to(f.first_response_at)),
            _rounded(f.hours_to(f.resolved_at)),
            f.overdue(now),
        )


def _rounded(hours: float | None) -> float | None:
    return None if hours is None else round(hours, 2)


def stats_rows(stats: RequestStats) -> Iterable[tuple]:
    """The statistics in long form (section, key, name_zh, name_en, value): one figure a row, for pivot tables."""
    yield ("range", "first_day", "", "", stats.window.first_day.isoformat())
    yield ("range", "last_day", "", "", stats.window.last_day.isoformat())
    yield ("range", "community_id", "", "", stats.community_id)
    yield ("total", "requests", "", "", stats.total)
    for section in ("by_category", "by_community", "by_status"):
        for c in getattr(stats, section):
            yield (section, c.key, c.name_zh, c.name_en, c.count)
    for name in ("first_response", "resolution"):
        figure = getattr(stats, name)
        yield (name, "median_hours", "", "", figure.median_hours)
        yield (name, "count", "", "", figure.count)
    for name, c in stats.sla.items():
        for key in ("met", "missed", "running", "running_late"):
            yield (f"sla_{name}", key, "", "", getattr(c, key))
        yield (f"sla_{name}", "compliance", "", "", c.share)
    backlog = stats.backlog
    yield ("backlog", "total", "", "", backlog.total)
    for b in backlog.buckets:
        yield ("backlog_age", b.key, "", "", b.count)
    yield ("backlog", "oldest_id", "", "", backlog.oldest_id)
    yield ("backlog", "oldest_age_hours", "", "", backlog.oldest_age_hours)
    for d in stats.daily:
        yield ("daily_submitted", d.day.isoformat(), "", "", d.submitted)
        yield ("daily_resolved", d.day.isoformat(), "", "", d.resolved)
