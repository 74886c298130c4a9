"""HTTP: stations and their latest readings."""

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from services.air_quality.models import MEASURES
from services.air_quality.store import latest_readings
from services.extensions import db

blp = Blueprint("air", __name__, url_prefix="/api/v1/air", description="Air quality 空气质量")


ReadingSchema = Schema.from_dict(
    {
        "observed_at": fields.DateTime(),
        "received_at": fields.DateTime(),
        "boot": fields.Integer(),
        "seq": fields.Integer(),
    }
    | {m: fields.Float(allow_none=True) for m in MEASURES},
    name="Reading",
)


class StationLatestSchema(Schema):
    id = fields.String()
    name_zh = fields.String()
    name_en = fields.String()
    kind = fields.String()
    subdistrict_id = fields.String()
    lat = fields.Float()
    lon = fields.Float()
    pollutants = fields.List(fields.String())
    latest = fields.Nested(
        ReadingSchema, allow_none=True, metadata={"description": "µg/m³; CO mg/m³; temperature °C; humidity %"}
    )


@blp.route("/latest")
class Latest(MethodView):
    @blp.response(200, StationLatestSchema(many=True))
    def get(self):
        """Every station with its newest reading (null until it has reported)."""
        return [
            {
                c: getattr(s, c)
                for c in ("id", "name_zh", "name_en", "kind", "subdistrict_id", "lat", "lon", "pollutants")
            }
            | {"latest": r}
            for s, r in latest_readings(db())
        ]
