"""HTTP: live berth states and facility availability."""

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from services.extensions import db
from services.parking.logic import BerthStatus
from services.parking.store import berth_states, facility_counts

blp = Blueprint("parking", __name__, url_prefix="/api/v1/parking", description="Parking 停车")


class BerthQuery(Schema):
    facility_id = fields.String()
    limit = fields.Integer(load_default=500, validate=validate.Range(min=1, max=5000))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))


class BerthSchema(Schema):
    id = fields.String()
    facility_id = fields.String()
    device_id = fields.String(allow_none=True)
    status = fields.String(metadata={"enum": [s.value for s in BerthStatus]})
    status_at = fields.DateTime(allow_none=True, metadata={"description": "device time of the latest event (UTC)"})
    boot = fields.Integer(attribute="status_boot", allow_none=True)
    seq = fields.Integer(attribute="status_seq", allow_none=True)


class FacilitySchema(Schema):
    id = fields.String()
    name_zh = fields.String()
    name_en = fields.String()
    kind = fields.String()
    subdistrict_id = fields.String()
    lat = fields.Float()
    lon = fields.Float()
    total = fields.Integer()
    free = fields.Integer()
    occupied = fields.Integer()
    closed = fields.Integer()
    unknown = fields.Integer()


@blp.route("/berths")
class Berths(MethodView):
    @blp.arguments(BerthQuery, location="query")
    @blp.response(200, BerthSchema(many=True))
    def get(self, query):
        """Current state of sensor-equipped berths (latest event by boot and sequence)."""
        return berth_states(db(), **query)


@blp.route("/facilities")
class Facilities(MethodView):
    @blp.response(200, FacilitySchema(many=True))
    def get(self):
        """Facilities with berth counts by current status."""
        result = []
        for entry in facility_counts(db()):
            f = entry["facility"]
            row = {c: getattr(f, c) for c in ("id", "name_zh", "name_en", "kind", "subdistrict_id", "lat", "lon")}
            row["total"] = entry["total"]
            row.update({s.value: entry["counts"].get(s.value, 0) for s in BerthStatus})
            result.append(row)
        return result
