"""HTTP: the device registry."""

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate

from config.topics import DeviceKind
from services.devices.models import Device
from services.devices.store import list_devices
from services.extensions import db

blp = Blueprint("devices", __name__, url_prefix="/api/v1/devices", description="Registered sensors 已登记的传感器")


class DeviceQuery(Schema):
    kind = fields.String(validate=validate.OneOf([k.value for k in DeviceKind]))
    facility_id = fields.String()
    station_id = fields.String()
    active = fields.Boolean()


class DeviceSchema(Schema):
    id = fields.String()
    kind = fields.String()
    address = fields.String(metadata={"description": "what the device's MQTT topic names"})
    subdistrict_id = fields.String()
    facility_id = fields.String(allow_none=True)
    berth_id = fields.String(allow_none=True)
    station_id = fields.String(allow_none=True)
    lat = fields.Float(metadata={"description": "WGS-84"})
    lon = fields.Float(metadata={"description": "WGS-84"})
    active = fields.Boolean()
    created_at = fields.DateTime()
    revoked_at = fields.DateTime(allow_none=True)


@blp.route("")
class Devices(MethodView):
    @blp.arguments(DeviceQuery, location="query")
    @blp.response(200, DeviceSchema(many=True))
    def get(self, query):
        """List devices, optionally by kind, facility, station or active flag."""
        return list_devices(db(), **query)


@blp.route("/<device_id>")
class DeviceDetail(MethodView):
    @blp.response(200, DeviceSchema)
    def get(self, device_id):
        """One device."""
        device = db().get(Device, device_id)
        if device is None:
            abort(404, message=f"no device {device_id}")
        return device
