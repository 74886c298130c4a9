"""HTTP: stations, series (raw / hourly / daily) with paging and CSV export, and the plan's PM2.5 KPI."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta

from flask import Response
from flask.views import MethodView
from flask_smorest import abort
from marshmallow import Schema, fields, validate, validates_schema
from marshmallow.exceptions import ValidationError
from sqlalchemy import select

from services.air_quality import ngsi  # noqa: F401  registers AirQualityObserved
from services.air_quality.aqi_china import CHINA_TZ
from services.air_quality.measures import MEASURES
from services.air_quality.models import AirStation
from services.air_quality.queries import Resolution, pm25_kpi_report, series_page, series_query, series_rows
from services.air_quality.rollup import DAY_MIN_HOURS, HOUR_MIN_SLOTS
from services.blueprint import Blueprint
from services.extensions import db, runtime

blp = Blueprint("air_data", __name__, url_prefix="/api/v1/air", description="Air quality 空气质量: data")

DEFAULT_SPAN = {
    Resolution.RAW: timedelta(days=1),
    Resolution.HOURLY: timedelta(days=7),
    Resolution.DAILY: timedelta(90),
}
MAX_RAW_SPAN = timedelta(days=31)  # raw readings beyond a month: use the hourly series
MEASURE_DOC = "µg/m³; CO mg/m³; temperature °C; humidity %"


class StationSchema(Schema):
    id = fields.String()
    name_zh = fields.String()
    name_en = fields.String()
    kind = fields.String(metadata={"description": "national | municipal | micro"})
    subdistrict_id = fields.String()
    lat = fields.Float()
    lon = fields.Float()
    pollutants = fields.List(fields.String(), metadata={"description": "what the station measures"})
    device_id = fields.String()


class SeriesQuery(Schema):
    resolution = fields.Enum(Resolution, by_value=True, load_default=Resolution.HOURLY)
    start = fields.String(
        metadata={"description": "ISO date or date-time (no offset: Asia/Shanghai); default: a span before end"}
    )
    end = fields.String(metadata={"description": "exclusive; ISO date or date-time; default: now"})

    @validates_schema
    def _parse_range(self, data, **_kw):
        resolution = data.get("resolution", Resolution.HOURLY)
        try:
            end = _instant(data["end"]) if data.get("end") else datetime.now(CHINA_TZ)
            start = _instant(data["start"]) if data.get("start") else end - DEFAULT_SPAN[resolution]
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
        if start >= end:
            raise ValidationError("start must be before end", "start")
        if resolution is Resolution.RAW and end - start > MAX_RAW_SPAN:
            raise ValidationError(f"raw readings span at most {MAX_RAW_SPAN.days} days: use resolution=hourly", "start")
        data["range"] = (start, end)


def _instant(text: str) -> datetime:
    """An ISO date (midnight in Asia/Shanghai) or date-time (no offset: Asia/Shanghai)."""
    value = (
        datetime.fromisoformat(text)
        if "T" in text or " " in text
        else datetime.combine(date.fromisoformat(text), time(0))
    )
    return value if value.tzinfo else value.replace(tzinfo=CHINA_TZ)


_MEANS = {m: fields.Float(allow_none=True) for m in MEASURES}
RawSchema = Schema.from_dict(
    {
        "observed_at": fields.DateTime(),
        "received_at": fields.DateTime(),
        "boot": fields.Integer(),
        "seq": fields.Integer(),
    }
    | _MEANS
    | {"quality": fields.Dict(allow_none=True, metadata={"description": "measure -> quality code; null: all good"})},
    name="AirRaw",
)
HourlySchema = Schema.from_dict(
    {"hour_start": fields.DateTime()}
    | _MEANS
    | {
        "slots": fields.Dict(
            metadata={"description": f"five-minute slots with a good value; valid at {HOUR_MIN_SLOTS}"}
        ),
        "flagged": fields.Dict(metadata={"description": "readings left out by the plausibility checks"}),
        "invalid": fields.List(
            fields.String(), metadata={"description": "measures with data but too little for a mean"}
        ),
        "aqi": fields.Integer(allow_none=True, metadata={"description": "null: NA (HJ 633-2026 §5.3.1)"}),
        "aqi_standard": fields.String(allow_none=True),
        "primary_pollutants": fields.List(fields.String()),
    },
    name="AirHourly",
)
DailySchema = Schema.from_dict(
    {"day": fields.Date()}
    | _MEANS
    | {
        "o3_8h_max": fields.Float(allow_none=True),
        "hours": fields.Dict(
            metadata={"description": f"valid hourly values; valid at {DAY_MIN_HOURS} (o3_8h: windows)"}
        ),
        "invalid": fields.List(
            fields.String(), metadata={"description": "measures with data but too little for a mean"}
        ),
    },
    name="AirDaily",
)
_ROW_SCHEMAS = {Resolution.RAW: RawSchema, Resolution.HOURLY: HourlySchema, Resolution.DAILY: DailySchema}


def _row(resolution: Resolution, obj) -> dict:
    names = _ROW_SCHEMAS[resolution]._declared_fields
    row = {n: getattr(obj, n) for n in names if n != "invalid"}
    counts = {Resolution.HOURLY: "slots", Resolution.DAILY: "hours"}.get(resolution)
    if counts:
        row["invalid"] = [m for m in MEASURES if row.get(m) is None and row[counts].get(m)]
        if resolution is Resolution.DAILY and row["o3_8h_max"] is None and row["hours"].get("o3_8h"):
            row["invalid"].append("o3_8h")
    return row


def _station(station_id: str) -> AirStation:
    station = db().get(AirStation, station_id)
    if station is None:
        abort(404, message=f"no air station {station_id!r}")
    return station


@blp.route("/stations")
class Stations(MethodView):
    @blp.response(200, StationSchema(many=True))
    def get(self):
        """Every monitoring station: kind, place and the pollutants it measures."""
        return db().scalars(select(AirStation).order_by(AirStation.id)).all()


@blp.route("/stations/<station_id>/series")
class Series(MethodView):
    @blp.arguments(SeriesQuery, location="query")
    @blp.response(200, description=f"Rows oldest first ({MEASURE_DOC}); the shape depends on resolution")
    @blp.paginate(page_size=100, max_page_size=1000)
    def get(self, query, station_id, pagination_parameters):
        """One station's readings, hourly or daily means in [start, end); invalid means are null."""
        _station(station_id)
        resolution = query["resolution"]
        items, total = series_page(
            db(),
            series_query(station_id, resolution, *_bounds(resolution, query["range"])),
            pagination_parameters.first_item,
            pagination_parameters.page_size,
        )
        pagination_parameters.item_count = total
        return _ROW_SCHEMAS[resolution](many=True).dump([_row(resolution, i) for i in items])


@blp.route("/stations/<station_id>/series.csv")
class SeriesCsv(MethodView):
    @blp.arguments(SeriesQuery, location="query")
    @blp.response(200, description="text/csv, UTF-8; one row per reading, hour or day")
    def get(self, query, station_id):
        """The same series as CSV (every row in the range, no paging)."""
        _station(station_id)
        resolution = query["resolution"]
        schema = _ROW_SCHEMAS[resolution]()
        columns = list(schema.fields)
        select_rows = series_query(station_id, resolution, *_bounds(resolution, query["range"]))
        sessions = runtime().sessions

        def generate():
            # A session of its own, closed when the stream ends however it ends (the request's session
            # is released at teardown, which a streamed response reaches only when the server closes it).
            with sessions() as session:
                buffer = io.StringIO()
                writer = csv.writer(buffer)
                writer.writerow(columns)
                for obj in series_rows(session, select_rows):
                    data = schema.dump(_row(resolution, obj))
                    writer.writerow([_cell(data.get(c)) for c in columns])
                    yield buffer.getvalue()
                    buffer.seek(0)
                    buffer.truncate()
                yield buffer.getvalue()

        name = f"{station_id}-{resolution}.csv"
        return Response(
            generate(),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        return ";".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, list):
        return ";".join(map(str, value))
    return str(value)


def _bounds(resolution: Resolution, span: tuple[datetime, datetime]):
    """Daily rows are keyed by local date; the others by instant."""
    start, end = span
    if resolution is Resolution.DAILY:
        return start.astimezone(CHINA_TZ).date(), end.astimezone(CHINA_TZ).date()
    return start, end


class AirKpiQuery(Schema):
    year = fields.Integer(validate=validate.Range(2015, 2100), metadata={"description": "default: this year"})
    station = fields.String(metadata={"description": "one station; default: the district (reference stations)"})


class AirKpiPeriodSchema(Schema):
    first = fields.Date()
    last = fields.Date()
    year = fields.Integer()
    valid_days = fields.Integer()
    valid = fields.Boolean(metadata={"description": "enough valid days (GB 3095-2026 表4)"})
    invalid_reasons = fields.List(fields.String())
    mean = fields.Float(allow_none=True, metadata={"description": "µg/m³; null unless valid"})
    partial_mean = fields.Float(allow_none=True, metadata={"description": "mean of the valid days so far"})
    baseline = fields.Dict(metadata={"description": "value (µg/m³) and label: the plan gives no number"})
    target = fields.Float(allow_none=True, metadata={"description": "baseline −25 %"})
    reduction = fields.Float(allow_none=True, metadata={"description": "fraction below the baseline"})
    meets_target = fields.Boolean(allow_none=True)
    limits = fields.Dict(metadata={"description": "Grade II PM2.5 limits in force (annual, daily)"})
    meets_annual_limit = fields.Boolean(allow_none=True)
    days_over_daily_limit = fields.Integer()


class AirKpiSchema(Schema):
    scope = fields.String()
    annual = fields.Nested(AirKpiPeriodSchema)
    rolling_365 = fields.Nested(AirKpiPeriodSchema)


@blp.route("/kpi")
class Kpi(MethodView):
    @blp.arguments(AirKpiQuery, location="query")
    @blp.response(200, AirKpiSchema)
    def get(self, query):
        """PM2.5 annual and rolling-365-day means against the baseline, the −25 % target and GB 3095."""
        if query.get("station"):
            _station(query["station"])
        today = datetime.now(CHINA_TZ).date()
        year = query.get("year", today.year)
        report = pm25_kpi_report(db(), runtime().settings, today, year, query.get("station"))
        return {"scope": query.get("station") or "district"} | report
