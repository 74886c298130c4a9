"""HTTP: sensor fleet health for the command centre: counts per kind and subdistrict, and device by device."""

from __future__ import annotations

from datetime import UTC, datetime

from flask.views import MethodView
from marshmallow import Schema, fields

from config.topics import DeviceKind
from services.accounts.auth import operators_only
from services.blueprint import Blueprint
from services.extensions import db, runtime
from services.fleet import store
from services.fleet.logic import DeviceState

blp = Blueprint("fleet", __name__, url_prefix="/api/v1/fleet", description="Sensor fleet health 传感器运行状况")


class FleetCountsSchema(Schema):
    total = fields.Integer(metadata={"description": "active (not revoked) devices"})
    online = fields.Integer()
    stale = fields.Integer(metadata={"description": "nothing received within the kind's timeout"})
    offline = fields.Integer(metadata={"description": "last will (or own status) says offline, or never heard from"})
    availability = fields.Float(allow_none=True, metadata={"description": "online / total, 0..1; null when total is 0"})


class FleetKindSummarySchema(FleetCountsSchema):
    kind = fields.String()
    timeout_s = fields.Integer(metadata={"description": "silence after which a device of this kind is stale"})
    battery_low = fields.Integer(metadata={"description": "devices reporting battery at or below BATTERY_LOW_PERCENT"})


class FleetSubdistrictSummarySchema(Schema):
    subdistrict_id = fields.String()
    name_zh = fields.String()
    name_en = fields.String()
    kinds = fields.Dict(keys=fields.String(), values=fields.Nested(FleetCountsSchema))


class FleetSummarySchema(Schema):
    as_of = fields.String(metadata={"description": "ISO 8601, UTC: when the counts were taken"})
    kinds = fields.List(fields.Nested(FleetKindSummarySchema))
    subdistricts = fields.List(fields.Nested(FleetSubdistrictSummarySchema))


class FleetDeviceHealthQuery(Schema):
    state = fields.Enum(DeviceState, by_value=True)
    kind = fields.Enum(DeviceKind, by_value=True)
    subdistrict_id = fields.String()
    facility_id = fields.String()


class FleetDeviceHealthSchema(Schema):
    device_id = fields.String()
    kind = fields.String()
    state = fields.String(metadata={"description": "online | stale | offline"})
    status = fields.String(allow_none=True, metadata={"description": "last status published: online | offline"})
    last_seen = fields.String(allow_none=True, metadata={"description": "ISO 8601 of the latest message; null: never"})
    silent_s = fields.Integer(allow_none=True)
    battery = fields.Float(allow_none=True, metadata={"description": "%, where the sensor reports it"})
    rssi = fields.Float(allow_none=True, metadata={"description": "dBm, where the sensor reports it"})
    battery_low = fields.Boolean()
    facility_id = fields.String(allow_none=True)
    berth_id = fields.String(allow_none=True)
    station_id = fields.String(allow_none=True)
    subdistrict_id = fields.String(allow_none=True)
    lat = fields.Float()
    lon = fields.Float()


@blp.route("")
class Fleet(MethodView):
    @operators_only
    @blp.response(200, FleetSummarySchema)
    def get(self):
        """Online, stale and offline devices and availability per kind and per subdistrict. Operators and admins."""
        rt = runtime()
        return store.summary(db(), rt.redis, rt.keys, rt.settings, datetime.now(UTC))


@blp.route("/devices")
class FleetDevices(MethodView):
    @operators_only
    @blp.arguments(FleetDeviceHealthQuery, location="query")
    @blp.response(200, FleetDeviceHealthSchema(many=True))
    @blp.paginate(page_size=50, max_page_size=500)
    def get(self, query, pagination_parameters):
        """Each active device's health, offline first, then stale, then online. Operators and admins."""
        rt = runtime()
        items, total = store.list_health(
            db(),
            rt.redis,
            rt.keys,
            rt.settings,
            query,
            pagination_parameters.first_item,
            pagination_parameters.page_size,
            datetime.now(UTC),
        )
        pagination_parameters.item_count = total
        return items
