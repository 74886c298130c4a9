"""HTTP shapes of the request statistics (GET /api/v1/requests/stats and the CSV files)."""

from marshmallow import Schema, fields, validate

from services.service_requests.stats import AGE_BUCKETS
from services.service_requests.stats_range import MAX_DAYS


class StatsQuery(Schema):
    start = fields.Date(metadata={"description": "first day (Asia/Shanghai), included; default: 29 days before end"})
    end = fields.Date(
        metadata={"description": f"last day (Asia/Shanghai), included; default: today. At most {MAX_DAYS} days"}
    )
    community_id = fields.String(
        validate=validate.Regexp(r"^[A-Za-z0-9_-]{1,40}$"),
        metadata={"description": "operators and admins: one community (staff see only their own, whatever they ask)"},
    )


class StatsRangeSchema(Schema):
    first_day = fields.Date()
    last_day = fields.Date()
    start = fields.DateTime(metadata={"description": "first moment counted"})
    end = fields.DateTime(metadata={"description": "first moment after the range"})
    time_zone = fields.Constant("Asia/Shanghai")
    community_id = fields.String(allow_none=True, metadata={"description": "the community filter, if one was asked"})


class StatsCountSchema(Schema):
    key = fields.String(allow_none=True, metadata={"description": "code (category, community, status); null: none"})
    name_zh = fields.String()
    name_en = fields.String()
    count = fields.Integer()


class StatsDurationSchema(Schema):
    median_hours = fields.Float(allow_none=True, metadata={"description": "null when count is 0"})
    count = fields.Integer(metadata={"description": "requests the median is based on"})


class StatsComplianceSchema(Schema):
    met = fields.Integer(metadata={"description": "clocks that finished within the budget"})
    missed = fields.Integer(metadata={"description": "clocks that finished over the budget"})
    running = fields.Integer(metadata={"description": "clocks still running (on hold included): not in the share"})
    running_late = fields.Integer(metadata={"description": "running clocks already over the budget"})
    compliance = fields.Float(
        attribute="share", allow_none=True, metadata={"description": "met / (met + missed), 0..1; null: none finished"}
    )


class StatsSlaSchema(Schema):
    response = fields.Nested(StatsComplianceSchema)
    resolution = fields.Nested(
        StatsComplianceSchema, metadata={"description": "rejected and duplicate requests left out"}
    )


class StatsBucketSchema(Schema):
    key = fields.String(metadata={"enum": [key for key, _, _ in AGE_BUCKETS]})
    min_days = fields.Integer()
    max_days = fields.Integer(allow_none=True, metadata={"description": "excluded; null: no upper bound"})
    count = fields.Integer()


class StatsBacklogSchema(Schema):
    total = fields.Integer(metadata={"description": "requests waiting now (submitted … on hold), whenever submitted"})
    buckets = fields.List(fields.Nested(StatsBucketSchema))
    oldest_id = fields.String(allow_none=True)
    oldest_requested_datetime = fields.DateTime(attribute="oldest_requested_at", allow_none=True)
    oldest_age_hours = fields.Float(allow_none=True)


class StatsDaySchema(Schema):
    date = fields.Date(attribute="day")
    submitted = fields.Integer()
    resolved = fields.Integer(metadata={"description": "requests first resolved that day, whenever submitted"})


class RequestStatsSchema(Schema):
    range = fields.Nested(StatsRangeSchema)
    total = fields.Integer(metadata={"description": "requests submitted in the range"})
    by_category = fields.List(fields.Nested(StatsCountSchema), metadata={"description": "all categories, most first"})
    by_community = fields.List(fields.Nested(StatsCountSchema), metadata={"description": "communities with requests"})
    by_status = fields.List(
        fields.Nested(StatsCountSchema), metadata={"description": "current status, lifecycle order"}
    )
    first_response = fields.Nested(StatsDurationSchema, metadata={"description": "submission to first status change"})
    resolution = fields.Nested(StatsDurationSchema, metadata={"description": "submission to first resolved/closed"})
    sla = fields.Nested(StatsSlaSchema)
    backlog = fields.Nested(StatsBacklogSchema)
    daily = fields.List(fields.Nested(StatsDaySchema))
