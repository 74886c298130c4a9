"""The desk's statistics page (/desk/stats): headline figures, charts and CSV downloads for a date range.

Everything is rendered on the server as figures and tables (they work without JavaScript); desk-stats.js
draws the charts with the vendored uPlot from the ``#stats-data`` JSON block. The figures are the ones
``GET /api/v1/requests/stats`` serves, from the same store function; staff see their own community's.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from flask import render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from services.accounts.auth import current_actor
from services.district.models import Community
from services.extensions import db
from services.service_requests import stats_store
from services.service_requests.stats import RequestStats
from services.service_requests.stats_range import DEFAULT_DAYS, MAX_DAYS, RangeError, Window, local_day, window
from web.desk import bp, catalogue, community_name, desk_only, labels

BUCKET_LABELS = {
    "lt_1d": _l("under 1 day"),
    "1_3d": _l("1–3 days"),
    "3_7d": _l("3–7 days"),
    "7_30d": _l("7–30 days"),
    "gt_30d": _l("over 30 days"),
}
QUICK_RANGES = ((7, _l("Last 7 days")), (30, _l("Last 30 days")), (90, _l("Last 90 days")))
COMMUNITY_CHART_MAX = 15  # bars beyond this are unreadable on a laptop; the table and the CSV list them all


def _asked_range(now: datetime) -> tuple[Window, str | None]:
    """The range from ?start=&end=; on a problem the default range, with a message saying so."""
    try:
        first, last = (date.fromisoformat(v) if v else None for v in map(request.args.get, ("start", "end")))
    except ValueError:
        problem = _("Write dates like 2026-11-26.")
    else:
        try:
            return window(first, last, now), None
        except RangeError:
            problem = _("The first day must not come after the last, and a range is at most %(n)s days.", n=MAX_DAYS)
    return window(None, None, now), _("%(problem)s Showing the last %(n)s days.", problem=problem, n=DEFAULT_DAYS)


def _asked_community(known: set[str]) -> str | None:
    asked = request.args.get("community_id") or None
    return asked if current_actor().city_wide and asked in known else None


def hours_text(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def percent_text(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.1f}%"


def chart_data(stats: RequestStats) -> dict:
    """What desk-stats.js draws: labels already in the page's language, numbers as they are."""
    communities = stats.by_community[:COMMUNITY_CHART_MAX]
    return {
        "daily": {
            "days": [d.day.isoformat() for d in stats.daily],
            "submitted": [d.submitted for d in stats.daily],
            "resolved": [d.resolved for d in stats.daily],
        },
        "category": {
            "labels": [labels.local(c, "name") or c.key for c in stats.by_category],
            "values": [c.count for c in stats.by_category],
        },
        "community": {"labels": [_community_label(c) for c in communities], "values": [c.count for c in communities]},
        "backlog": {
            "labels": [str(BUCKET_LABELS[b.key]) for b in stats.backlog.buckets],
            "values": [b.count for b in stats.backlog.buckets],
        },
    }


def _community_label(count) -> str:
    return labels.local(count, "name") or count.key or _("no community")


def _download(endpoint: str, span, community_id: str | None) -> str:
    args = {"start": span.first_day.isoformat(), "end": span.last_day.isoformat()}
    return url_for(endpoint, **args, **({"community_id": community_id} if community_id else {}))


@bp.get("/desk/stats")
@desk_only
def stats():
    """Statistics of the requests submitted in a date range, in the actor's scope, with CSV downloads."""
    now = datetime.now(UTC)
    span, range_error = _asked_range(now)
    communities = list(db().query(Community).order_by(Community.id)) if current_actor().city_wide else []
    community_id = _asked_community({c.id for c in communities})
    figures = stats_store.request_stats(db(), catalogue(), current_actor(), span, now, community_id)
    today = local_day(now)
    return render_template(
        "desk/stats.html",
        stats=figures,
        span=span,
        range_error=range_error,
        communities=communities,
        community_id=community_id,
        scope=community_name(community_id or current_actor().community_id) or _("all communities"),
        quick_ranges=[
            (str(label), (today - timedelta(days=n - 1)).isoformat(), today.isoformat()) for n, label in QUICK_RANGES
        ],
        bucket_labels=BUCKET_LABELS,
        community_label=_community_label,
        hours_text=hours_text,
        percent_text=percent_text,
        chart_data=chart_data(figures),
        stats_csv=_download("service_request_stats.StatsCsv", span, community_id),
        export_csv=_download("service_request_stats.ExportCsv", span, community_id),
        labels=labels,
        user=current_user,
    )
