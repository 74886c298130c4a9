"""HTTP: the plan's KPI board (public, read-only): each KPI's value, target and daily trend."""

from __future__ import annotations

from datetime import UTC, datetime

from flask.views import MethodView
from marshmallow import Schema, fields, validate

from services.blueprint import Blueprint
from services.extensions import db, runtime
from services.kpi.logic import RATIO, UG_M3, Direction, KpiId
from services.kpi.store import current_kpis, with_trends

blp = Blueprint("kpis", __name__, url_prefix="/api/v1/kpis", description="The plan's KPIs 规划指标")

MIN_DAYS, MAX_DAYS, DEFAULT_DAYS = 7, 365, 30


class KpiQuery(Schema):
    days = fields.Integer(
        load_default=DEFAULT_DAYS,
        validate=validate.Range(MIN_DAYS, MAX_DAYS),
        metadata={"description": f"Days of trend, today included ({MIN_DAYS}..{MAX_DAYS})"},
    )


class TrendPointSchema(Schema):
    day = fields.String(metadata={"description": "YYYY-MM-DD, Asia/Shanghai"})
    value = fields.Float()


class KpiSchema(Schema):
    id = fields.String(validate=validate.OneOf([str(k) for k in KpiId]))
    label_zh = fields.String()
    label_en = fields.String()
    value = fields.Float(allow_none=True, metadata={"description": "null: no data yet"})
    unit = fields.String(validate=validate.OneOf([RATIO, UG_M3]), metadata={"description": "ratio is 0..1"})
    target = fields.Float(allow_none=True)
    direction = fields.String(validate=validate.OneOf([str(d) for d in Direction]))
    limit = fields.Float(allow_none=True, metadata={"description": "GB 3095 annual limit (PM2.5 only)"})
    met = fields.Boolean(allow_none=True, metadata={"description": "null: no value (or no target) to judge"})
    detail = fields.Dict(metadata={"description": "the figures behind the value; differs per KPI"})
    trend = fields.List(fields.Nested(TrendPointSchema), metadata={"description": "daily values, oldest first"})


class KpiBoardSchema(Schema):
    as_of = fields.DateTime()
    kpis = fields.List(fields.Nested(KpiSchema))


@blp.route("")
class Kpis(MethodView):
    @blp.arguments(KpiQuery, location="query")
    @blp.response(200, KpiBoardSchema)
    def get(self, query):
        """Smart-managed berths, PM2.5, requests within SLA and sensor availability, each with its trend."""
        rt, session, now = runtime(), db(), datetime.now(UTC)
        kpis = current_kpis(session, rt.redis, rt.keys, rt.settings, now)
        return {"as_of": now, "kpis": with_trends(session, kpis, now, query["days"])}
