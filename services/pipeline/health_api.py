"""HTTP: the pipeline's health for the ops console (operators and admins): the figures of /metrics, with rates."""

from __future__ import annotations

from datetime import UTC, datetime

from flask.views import MethodView
from marshmallow import Schema, fields

from services.accounts.auth import operators_only
from services.blueprint import Blueprint
from services.extensions import db, runtime
from services.pipeline.health import pipeline_health

blp = Blueprint(
    "pipeline_health",
    __name__,
    url_prefix="/api/v1/pipeline",
    description="Pipeline health: message rates, queues, workers, dead letters 数据管道运行状况",
)


def rate_field():
    return fields.Float(allow_none=True, metadata={"description": "per second since the previous sample, or null"})


def counts_field():
    return fields.Dict(keys=fields.String(), values=fields.Integer())


class MqttHealth(Schema):
    received = fields.Integer()
    accepted = fields.Integer()
    rejected = fields.Integer()
    received_per_s = rate_field()
    accepted_per_s = rate_field()
    rejected_per_s = rate_field()
    rejected_by_reason = counts_field()


class QueueHealth(Schema):
    name = fields.String()
    waiting = fields.Integer()
    started = fields.Integer()
    failed = fields.Integer()
    scheduled = fields.Integer()


class Backpressure(Schema):
    active = fields.Boolean()
    backlog_jobs = fields.Integer()
    limit = fields.Integer()


class DeadLetterCounts(Schema):
    pending = fields.Integer()
    by_reason = counts_field()


class PipelineHealth(Schema):
    as_of = fields.String(metadata={"description": "ISO 8601 time of the sample"})
    interval_s = fields.Float(allow_none=True, metadata={"description": "seconds since the previous sample"})
    mqtt = fields.Nested(MqttHealth)
    rows_stored = fields.Integer()
    rows_stored_per_s = rate_field()
    queues = fields.List(fields.Nested(QueueHealth))
    workers = fields.Integer()
    bridges = fields.Integer()
    backpressure = fields.Nested(Backpressure)
    dead_letters = fields.Nested(DeadLetterCounts)


@blp.route("/health")
class Health(MethodView):
    @operators_only
    @blp.response(200, PipelineHealth)
    def get(self):
        """Message rates, RQ queues, workers, bridges, backpressure and dead letters, as /metrics counts them."""
        rt = runtime()
        snapshot, _ = pipeline_health(
            rt.redis, rt.keys, db(), rt.settings.bridge_max_backlog, datetime.now(UTC), advance=False
        )
        return snapshot
