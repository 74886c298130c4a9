"""HTTP: statistics of community service requests, and the requests as CSV (logged-in accounts).

Staff get their own community's figures, operators and admins the whole district (or one community with
``community_id``). The CSV export carries no personal data: see stats_csv.py.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Response
from flask.views import MethodView
from flask_smorest import abort

from services.accounts.auth import current_actor, require_role
from services.accounts.roles import ACCOUNT_ROLES
from services.blueprint import Blueprint
from services.district.models import Community
from services.extensions import db
from services.service_requests import stats_csv, stats_store
from services.service_requests.api import catalogue
from services.service_requests.stats import RequestStats
from services.service_requests.stats_range import RangeError, Window, window
from services.service_requests.stats_schemas import RequestStatsSchema, StatsQuery

blp = Blueprint(
    "service_request_stats",
    __name__,
    url_prefix="/api/v1/requests",
    description="Statistics of community service requests, CSV export 社区服务申请统计与导出",
)
STATS_FIELDS = (
    "total",
    "by_category",
    "by_community",
    "by_status",
    "first_response",
    "resolution",
    "sla",
    "backlog",
    "daily",
)
CSV_DOC = "text/csv, UTF-8 with a byte-order mark (Excel); text cells starting with = + - @ get a leading '"


def _window(query: dict) -> Window:
    try:
        return window(query.get("start"), query.get("end"), datetime.now(UTC))
    except RangeError as exc:
        abort(422, message=str(exc), errors={"query": {"start": [str(exc)]}})


def _community(query: dict) -> str | None:
    community_id = query.get("community_id")
    if community_id and db().get(Community, community_id) is None:
        abort(422, message="unknown community", errors={"query": {"community_id": [community_id]}})
    return community_id


def _stats(query: dict) -> RequestStats:
    span, community_id = _window(query), _community(query)
    return stats_store.request_stats(db(), catalogue(), current_actor(), span, datetime.now(UTC), community_id)


def _csv(body: bytes, name: str) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(body, content_type="text/csv; charset=utf-8", headers=headers)


def _file_name(kind: str, span: Window, community_id: str | None) -> str:
    where = community_id or "heping"
    return f"requests-{kind}-{where}-{span.first_day:%Y%m%d}-{span.last_day:%Y%m%d}.csv"


def stats_view(stats: RequestStats) -> dict:
    """The statistics as RequestStatsSchema dumps them."""
    span = stats.window
    return {
        "range": {
            "first_day": span.first_day,
            "last_day": span.last_day,
            "start": span.start,
            "end": span.end,
            "community_id": stats.community_id,
        },
        **{name: getattr(stats, name) for name in STATS_FIELDS},
    }


@blp.route("/stats")
class Stats(MethodView):
    @require_role(*ACCOUNT_ROLES)
    @blp.arguments(StatsQuery, location="query")
    @blp.response(200, RequestStatsSchema)
    def get(self, query):
        """Counts by category, community and status; median hours to first response and to resolution; SLA
        compliance; the backlog by age; submitted and resolved per day. Range: submission days in Asia/Shanghai,
        the last 30 by default. Staff: their community only."""
        return stats_view(_stats(query))


@blp.route("/stats.csv")
class StatsCsv(MethodView):
    @require_role(*ACCOUNT_ROLES)
    @blp.arguments(StatsQuery, location="query")
    @blp.response(200, description=f"{CSV_DOC}. Columns: {', '.join(stats_csv.STATS_COLUMNS)}")
    def get(self, query):
        """The same statistics as CSV, one figure a row (section, key, names, value)."""
        stats = _stats(query)
        body = stats_csv.write_csv(stats_csv.STATS_COLUMNS, stats_csv.stats_rows(stats))
        return _csv(body, _file_name("stats", stats.window, stats.community_id))


@blp.route("/export.csv")
class ExportCsv(MethodView):
    @require_role(*ACCOUNT_ROLES)
    @blp.arguments(StatsQuery, location="query")
    @blp.response(200, description=f"{CSV_DOC}. Columns: {', '.join(stats_csv.EXPORT_COLUMNS)}")
    def get(self, query):
        """The requests submitted in the range (in your scope), one row each, oldest first. No personal data:
        no resident name, phone, e-mail or address and no description."""
        span, community_id = _window(query), _community(query)
        session, cat = db(), catalogue()
        facts = stats_store.load_facts(session, current_actor(), span, community_id)
        rows = stats_csv.export_rows(
            facts,
            {code: s.name_zh for code, s in cat.services.items()},
            {c.code: c.name_zh for c in cat.categories},
            {key: zh for key, (zh, _) in stats_store.community_names(session).items()},
            datetime.now(UTC),
        )
        return _csv(stats_csv.write_csv(stats_csv.EXPORT_COLUMNS, rows), _file_name("export", span, community_id))
