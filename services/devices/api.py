"""HTTP: the device registry (operators and admins), and provisioning and revoking devices (admins).

Provisioning returns the device's MQTT password once (the database keeps only its hash), then rewrites the
broker's password and ACL files and reloads it, as `civic device add` does.
"""

from flask.views import MethodView
from flask_smorest import abort
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from config.topics import DeviceKind
from services.accounts.auth import admins_only, current_actor, operators_only
from services.blueprint import Blueprint
from services.devices.models import Device
from services.devices.provisioning import ProvisioningError, add_device, revoke_device, sync_broker
from services.devices.store import list_devices
from services.extensions import db, runtime

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


class ProvisionSchema(Schema):
    berth_id = fields.String(metadata={"description": "the berth this occupancy sensor watches"})
    station_id = fields.String(metadata={"description": "the air station this device is"})
    device_id = fields.String(
        validate=validate.Length(min=1, max=40),
        metadata={"description": "optional id; an existing device's id re-issues its password"},
    )

    @validates_schema
    def _one_place(self, data, **_kwargs):
        if data.get("berth_id") and data.get("station_id"):
            raise ValidationError("name a berth or a station, not both", "berth_id")


class MqttCredentialsSchema(Schema):
    username = fields.String()
    password = fields.String(metadata={"description": "shown this once; store it on the device"})
    topic_prefix = fields.String(metadata={"description": "the device publishes under this prefix only"})


class ProvisionedSchema(Schema):
    device = fields.Nested(DeviceSchema)
    mqtt = fields.Nested(MqttCredentialsSchema)
    broker = fields.String(metadata={"description": "what was done to the broker's files"})


def _device_or_404(device_id: str) -> Device:
    device = db().get(Device, device_id)
    if device is None:
        abort(404, message=f"no device {device_id}")
    return device


@blp.route("")
class Devices(MethodView):
    @operators_only
    @blp.arguments(DeviceQuery, location="query")
    @blp.response(200, DeviceSchema(many=True))
    def get(self, query):
        """List devices, optionally by kind, facility, station or active flag."""
        return list_devices(db(), **query)

    @admins_only
    @blp.arguments(ProvisionSchema)
    @blp.response(201, ProvisionedSchema)
    def post(self, body):
        """Provision the sensor of a berth or station (or re-issue a device's password). Admins."""
        session = db()
        try:
            device, password = add_device(session, **body, actor=current_actor())
        except ProvisioningError as exc:
            session.rollback()
            abort(422, message=str(exc))
        session.commit()
        rt = runtime()
        broker = sync_broker(rt)
        credentials = {
            "username": device.id,
            "password": password,
            "topic_prefix": f"{rt.topics.district}/{device.address}",
        }
        return {"device": device, "mqtt": credentials, "broker": broker}


@blp.route("/<device_id>")
class DeviceDetail(MethodView):
    @operators_only
    @blp.response(200, DeviceSchema)
    def get(self, device_id):
        """One device."""
        return _device_or_404(device_id)


@blp.route("/<device_id>/revoke")
class DeviceRevoke(MethodView):
    @admins_only
    @blp.response(200, DeviceSchema)
    def post(self, device_id):
        """Revoke a device: the broker drops its credentials and the bridge refuses its messages. Admins."""
        session = db()
        device = revoke_device(session, _device_or_404(device_id).id, actor=current_actor())
        session.commit()
        sync_broker(runtime())
        return device
