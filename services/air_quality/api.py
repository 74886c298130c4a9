"""HTTP: stations and their latest readings; the AQI calculator."""

from flask.views import MethodView
from flask_smorest import abort
from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate, validates_schema

from services.air_quality.aqi import INPUTS, AqiInputError, Period, Standard, calculate, inputs, standard_for
from services.air_quality.measures import MEASURES
from services.air_quality.store import latest_readings
from services.blueprint import Blueprint
from services.extensions import db

blp = Blueprint("air", __name__, url_prefix="/api/v1/air", description="Air quality 空气质量")


ReadingSchema = Schema.from_dict(
    {
        "observed_at": fields.DateTime(),
        "received_at": fields.DateTime(),
        "boot": fields.Integer(),
        "seq": fields.Integer(),
    }
    | {m: fields.Float(allow_none=True) for m in MEASURES}
    | {"quality": fields.Dict(allow_none=True, metadata={"description": "measure -> quality code; null: all good"})},
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


def _concentration(description: str) -> fields.Decimal:
    # Decimal, never float: the AQI formula is exact (reference/aqi.md §1.3).
    # minimum in metadata: apispec would otherwise document the Decimal bound as the string "0".
    return fields.Decimal(
        allow_nan=False, validate=validate.Range(min=0), metadata={"description": description, "minimum": 0}
    )


class AqiQuery(Schema):
    standard = fields.Enum(
        Standard,
        by_value=True,
        load_default=standard_for,
        metadata={"description": "default: the China standard in force today (HJ633-2026 from 2026-03-01)"},
    )
    period = fields.Enum(
        Period,
        by_value=True,
        load_default=Period.HOUR,
        metadata={"description": "China: hour = real-time report (1-h averages), day = daily report; EPA: unused"},
    )
    pm25 = _concentration("PM2.5 µg/m³: China 1-h (hour) or 24-h (day); EPA 24-h or NowCast")
    pm10 = _concentration("PM10 µg/m³: China 1-h (hour) or 24-h (day); EPA 24-h or NowCast")
    so2 = _concentration("SO2: China µg/m³, 1-h (hour) or 24-h (day); EPA ppb, 1-h")
    no2 = _concentration("NO2: China µg/m³, 1-h (hour) or 24-h (day); EPA ppb, 1-h")
    o3 = _concentration("O3 1-h: China µg/m³ (HJ633-2012 day: daily maximum 1-h; not in HJ633-2026 day); EPA ppm")
    o3_8h = _concentration("O3 8-h: China µg/m³ (day: daily maximum 8-h; not in HJ633-2026 hour); EPA ppm")
    co = _concentration("CO: China mg/m³, 1-h (hour) or 24-h (day); EPA ppm, 8-h")
    so2_24h = _concentration(
        "SO2 24-h, read only when the 1-h so2 is above its table (HJ633-2012 hour: > 800 µg/m³; EPA: ≥ 305 ppb)"
    )

    @pre_load
    def _drop_empty(self, data, **_kw):
        # An HTML form sends an empty field as `pm25=`: that pollutant was not measured.
        return {k: v for k, v in data.items() if v != ""}

    @validates_schema
    def _used_by_report(self, data, **_kw):
        standard, period = data.get("standard") or standard_for(), data.get("period", Period.HOUR)
        used = inputs(standard, period)
        unused = [k for k in INPUTS if k in data and k not in used]
        if unused:
            raise ValidationError({k: [f"not used by {standard} for period={period}"] for k in unused})


class TextSchema(Schema):
    zh = fields.String()
    en = fields.String()


class SensitiveGroupSchema(TextSchema):
    pollutants = fields.List(fields.String())


class AdviceSchema(Schema):
    health_effects = fields.Nested(TextSchema)
    measures = fields.Nested(TextSchema)
    sensitive_groups = fields.List(
        fields.Nested(SensitiveGroupSchema), metadata={"description": "for each pollutant whose sub-index exceeds 100"}
    )


class CategorySchema(Schema):
    level = fields.Integer(metadata={"description": "1-6"})
    zh = fields.String()
    en = fields.String()
    color = fields.String(metadata={"description": "#RRGGBB"})


class AqiSchema(Schema):
    standard = fields.String()
    aqi = fields.Integer(allow_none=True, metadata={"description": "null when nothing could be rated"})
    iaqi = fields.Dict(
        keys=fields.String(), values=fields.Integer(), metadata={"description": "sub-index by pollutant"}
    )
    primary_pollutants = fields.List(fields.String(), metadata={"description": "China: only when AQI > 50; ties all"})
    category = fields.Nested(CategorySchema, allow_none=True)
    advice = fields.Nested(AdviceSchema, metadata={"description": "empty when aqi is null"})
    beyond_index = fields.List(
        fields.String(),
        metadata={"description": "above the table's top: China caps the sub-index at 500, EPA extrapolates"},
    )


@blp.route("/aqi")
class AqiCalculator(MethodView):
    @blp.arguments(AqiQuery, location="query", unknown=RAISE)
    @blp.response(200, AqiSchema)
    def get(self, query):
        """Rate concentrations by HJ 633-2026, HJ 633-2012 or EPA 2024; omitted pollutants are not rated."""
        standard, period = query.pop("standard"), query.pop("period")
        try:
            return calculate(query, standard=standard, period=period).to_dict()
        except AqiInputError as exc:
            abort(422, message=str(exc), errors={"query": {exc.field: [exc.message]}})
