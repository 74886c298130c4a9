"""Parking messages and API shapes."""

from marshmallow import Schema, fields, validate

from services.paging import offset_field
from services.parking.logic import BerthCategory, BerthStatus, Detection, FacilityKind
from services.pipeline.envelope import EnvelopeSchema


class BerthStateMessage(EnvelopeSchema):
    """What a berth occupancy sensor publishes on ``{district}/parking/{facility}/{berth}/state``."""

    occupied = fields.Boolean(required=True, truthy={True}, falsy={False})


# --- HTTP shapes ---------------------------------------------------------------------------------------
# Every coordinate is WGS-84 (GPS/OSM), not GCJ-02 or BD-09: convert before placing it on a Chinese web map.
WGS84 = "WGS-84 degrees"
STATUSES = [s.value for s in BerthStatus]
CATEGORIES = [c.value for c in BerthCategory]


class CountsSchema(Schema):
    total = fields.Integer()
    free = fields.Integer(metadata={"description": "available berths"})
    occupied = fields.Integer()
    closed = fields.Integer(metadata={"description": "taken out of use by an operator"})
    unknown = fields.Integer(metadata={"description": "no fresh sensor word (silent, offline, or not sensed)"})


class FacilitySchema(CountsSchema):
    id = fields.String()
    name_zh = fields.String()
    name_en = fields.String()
    kind = fields.String(metadata={"enum": [k.value for k in FacilityKind]})
    subdistrict_id = fields.String()
    address_zh = fields.String()
    address_en = fields.String()
    road_zh = fields.String(allow_none=True, metadata={"description": "on-street segments: the road"})
    road_en = fields.String(allow_none=True)
    lat = fields.Float(metadata={"description": f"latitude, {WGS84}"})
    lon = fields.Float(metadata={"description": f"longitude, {WGS84}"})
    opened = fields.Integer(allow_none=True, metadata={"description": "year the facility opened"})
    opening_hours = fields.String(metadata={"description": "OpenStreetMap opening_hours syntax"})
    tariff_zh = fields.String()
    tariff_en = fields.String()
    detection = fields.Dict(
        keys=fields.String(), values=fields.Integer(), metadata={"description": "berths by sensor/barrier/manual"}
    )
    smart_managed = fields.Integer(metadata={"description": "berths known by a sensor or a barrier"})
    occupancy_rate = fields.Float(allow_none=True, metadata={"description": "occupied / (free + occupied)"})
    by_category = fields.Dict(keys=fields.String(), values=fields.Nested(CountsSchema))
    updated_at = fields.Float(metadata={"description": "epoch seconds when the counts were last recomputed"})


class NearbyFacilitySchema(FacilitySchema):
    distance_m = fields.Float(metadata={"description": "straight-line distance in metres"})


class FacilityQuery(Schema):
    kind = fields.String(validate=validate.OneOf([k.value for k in FacilityKind]))
    subdistrict_id = fields.String()


class NearbyQuery(Schema):
    lat = fields.Float(required=True, validate=validate.Range(-90, 90), metadata={"description": WGS84})
    lon = fields.Float(required=True, validate=validate.Range(-180, 180), metadata={"description": WGS84})
    radius = fields.Integer(load_default=1000, validate=validate.Range(1, 5000), metadata={"description": "metres"})
    category = fields.String(
        validate=validate.OneOf(CATEGORIES), metadata={"description": "only facilities with such berths"}
    )
    available = fields.Boolean(load_default=False, metadata={"description": "only with free berths (of that category)"})
    limit = fields.Integer(load_default=20, validate=validate.Range(1, 100))


class BerthQuery(Schema):
    facility_id = fields.String()
    status = fields.String(validate=validate.OneOf(STATUSES))
    category = fields.String(validate=validate.OneOf(CATEGORIES))
    limit = fields.Integer(load_default=500, validate=validate.Range(min=1, max=5000))
    offset = offset_field()


class BerthSchema(Schema):
    id = fields.String()
    facility_id = fields.String()
    category = fields.String(metadata={"enum": CATEGORIES})
    detection = fields.String(metadata={"enum": [d.value for d in Detection]})
    device_id = fields.String(allow_none=True)
    status = fields.String(metadata={"enum": STATUSES})
    status_at = fields.DateTime(allow_none=True, metadata={"description": "device time of the latest event (UTC)"})
    boot = fields.Integer(allow_none=True)
    seq = fields.Integer(allow_none=True)
    seen_at = fields.DateTime(allow_none=True, metadata={"description": "when the platform last heard the sensor"})
    sensor_occupied = fields.Boolean(allow_none=True, metadata={"description": "the sensor's latest reading"})


class ParkingWindowQuery(Schema):
    facility_id = fields.String(metadata={"description": "one facility; the whole district when absent"})
    hours = fields.Integer(load_default=24, validate=validate.Range(1, 24 * 31))


class ParkingHourSchema(CountsSchema):
    hour = fields.DateTime(metadata={"description": "start of the hour (UTC)"})
    samples = fields.Integer(metadata={"description": "snapshots averaged"})
    occupancy_rate = fields.Float(allow_none=True)


class ParkingHistorySchema(Schema):
    facility_id = fields.String(allow_none=True)
    since = fields.DateTime()
    until = fields.DateTime()
    hours = fields.List(fields.Nested(ParkingHourSchema))


class ParkingStatsSchema(Schema):
    facility_id = fields.String(allow_none=True)
    since = fields.DateTime()
    until = fields.DateTime()
    berths_reporting = fields.Integer()
    arrivals = fields.Integer()
    departures = fields.Integer()
    occupancy_rate = fields.Float(allow_none=True, metadata={"description": "time-weighted occupied share"})
    turnover_per_berth_per_day = fields.Float(allow_none=True)
    mean_dwell_minutes = fields.Float(allow_none=True)
    arrivals_by_hour = fields.List(fields.Integer(), metadata={"description": "24 values, local hour (Asia/Shanghai)"})
    peak_hours = fields.List(fields.Integer(), metadata={"description": "local hours with most arrivals"})


class SmartShareItem(Schema):
    smart_managed = fields.Integer()
    berths = fields.Integer()
    share = fields.Float(allow_none=True)
    meets_target = fields.Boolean()


class SmartShareSchema(Schema):
    target = fields.Float(metadata={"description": "plan: 75 % of berths smart-managed"})
    district = fields.Nested(SmartShareItem)
    subdistricts = fields.Dict(keys=fields.String(), values=fields.Nested(SmartShareItem))


class YearSchema(Schema):
    year = fields.Integer()
    berths = fields.Integer(metadata={"description": "off-street berths in car parks opened that year"})
    car_parks = fields.Integer()
    meets_target = fields.Boolean()


class OffStreetSchema(Schema):
    target_per_year = fields.Integer(metadata={"description": "plan: 1,000 new off-street berths a year"})
    plan_years = fields.List(fields.Integer())
    years = fields.List(fields.Nested(YearSchema))
    new_car_parks = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={"description": "target 11"})


class KnownShareItem(Schema):
    known = fields.Integer()
    berths = fields.Integer()
    share = fields.Float(allow_none=True)


class KnownShareSchema(Schema):
    district = fields.Nested(KnownShareItem)
    subdistricts = fields.Dict(keys=fields.String(), values=fields.Nested(KnownShareItem))


class ParkingKpiSchema(Schema):
    smart_share = fields.Nested(SmartShareSchema)
    off_street_added = fields.Nested(OffStreetSchema)
    known_share = fields.Nested(KnownShareSchema, metadata={"description": "status known now (free/occupied/closed)"})
