"""HTTP: parking availability (live, from Redis), nearby search, berths, history, statistics, plan KPIs.

All coordinates are WGS-84 (GPS/OSM), not GCJ-02 (Amap/Tencent) or BD-09 (Baidu).
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import Response, jsonify
from flask.views import MethodView
from flask_smorest import abort

from services.accounts.auth import current_actor, operators_only
from services.blueprint import Blueprint
from services.extensions import db, runtime
from services.parking import actions, kpis, ngsi
from services.parking.history import SNAPSHOT_FIELDS, berth_transitions, snapshots
from services.parking.live import current_facilities, nearby_facilities
from services.parking.logic import COUNTED, occupancy_rate
from services.parking.schemas import (
    BerthQuery,
    BerthSchema,
    FacilityQuery,
    FacilitySchema,
    NearbyFacilitySchema,
    NearbyQuery,
    ParkingHistorySchema,
    ParkingKpiSchema,
    ParkingStatsSchema,
    ParkingWindowQuery,
)
from services.parking.stats import hourly_series, occupancy_statistics, window
from services.parking.store import BerthNotFound, berth_views

blp = Blueprint(
    "parking",
    __name__,
    url_prefix="/api/v1/parking",
    description="Parking 停车. Availability comes from the live state; coordinates are WGS-84 (not GCJ-02/BD-09).",
)
ngsi.register()

LOCAL = ZoneInfo("Asia/Shanghai")


def _flat(facility: dict) -> dict:
    """A directory entry with its counts at the top level, as the schemas show it."""
    counts = facility["counts"]
    return (
        {k: v for k, v in facility.items() if k != "counts"}
        | {k: counts[k] for k in COUNTED}
        | {
            "by_category": counts["by_category"],
            "updated_at": counts["updated_at"],
            "occupancy_rate": occupancy_rate(counts),
        }
    )


def _facilities() -> list[dict]:
    rt = runtime()
    return [_flat(f) for f in current_facilities(rt.sessions, rt.redis, rt.keys)]


def _facility(facility_id: str) -> dict:
    found = next((f for f in _facilities() if f["id"] == facility_id), None)
    if found is None:
        abort(404, message=f"no parking facility {facility_id!r}")
    return found


@blp.route("/facilities")
class Facilities(MethodView):
    @blp.arguments(FacilityQuery, location="query")
    @blp.response(200, FacilitySchema(many=True))
    def get(self, query):
        """Facilities with live availability (free, occupied, closed, unknown berths; also per category)."""
        return [
            f for f in _facilities() if all(f[key] == query[key] for key in ("kind", "subdistrict_id") if key in query)
        ]


@blp.route("/facilities/<facility_id>")
class Facility(MethodView):
    @blp.response(200, FacilitySchema)
    def get(self, facility_id):
        """One facility: description, opening hours, tariff and live counts."""
        return _facility(facility_id)


@blp.route("/facilities.geojson")
class FacilitiesGeoJson(MethodView):
    @blp.response(200, description="GeoJSON FeatureCollection (RFC 7946, WGS-84 [lon, lat]) of every facility")
    def get(self):
        """Facilities as GeoJSON points with their live counts as properties, for any map client."""
        features = [
            {
                "type": "Feature",
                "id": f["id"],
                "geometry": {"type": "Point", "coordinates": [f["lon"], f["lat"]]},
                "properties": {k: v for k, v in f.items() if k not in ("lat", "lon")},
            }
            for f in _facilities()
        ]
        response = jsonify({"type": "FeatureCollection", "features": features})
        response.mimetype = "application/geo+json"
        return response


@blp.route("/nearby")
class Nearby(MethodView):
    @blp.arguments(NearbyQuery, location="query")
    @blp.response(200, NearbyFacilitySchema(many=True))
    def get(self, query):
        """Facilities within `radius` metres of a WGS-84 point, nearest first (Redis GEO; no database)."""
        rt = runtime()
        found = nearby_facilities(rt.sessions, rt.redis, rt.keys, query["lat"], query["lon"], query["radius"])
        result = []
        for facility in map(_flat, found):
            scope = facility["by_category"].get(query["category"]) if "category" in query else facility
            if scope is None or (query["available"] and not scope["free"]):
                continue
            result.append(facility)
            if len(result) == query["limit"]:
                break
        return result


@blp.route("/berths")
class Berths(MethodView):
    @blp.arguments(BerthQuery, location="query")
    @blp.response(200, BerthSchema(many=True))
    def get(self, query):
        """Berths with their current state (moved only by newer (boot, seq) events)."""
        return berth_views(db(), **query)


@blp.route("/berths/<berth_id>")
class BerthDetail(MethodView):
    @blp.response(200, BerthSchema)
    def get(self, berth_id):
        """One berth: category, how its state is detected, its status and the sensor's latest word."""
        found = berth_views(db(), berth_id=berth_id, limit=1)
        if not found:
            abort(404, message=f"no berth {berth_id!r}")
        return found[0]


def _set_closed(berth_id: str, closed: bool) -> dict:
    try:
        actions.set_closed(runtime(), berth_id, closed, actor=current_actor())
    except BerthNotFound:
        abort(404, message=f"no berth {berth_id!r}")
    return berth_views(db(), berth_id=berth_id, limit=1)[0]


@blp.route("/berths/<berth_id>/close")
class BerthClose(MethodView):
    @operators_only
    @blp.response(200, BerthSchema)
    def post(self, berth_id):
        """Take a berth out of use: it shows `closed` whatever its sensor says (a live event). Operators, admins."""
        return _set_closed(berth_id, True)


@blp.route("/berths/<berth_id>/open")
class BerthOpen(MethodView):
    @operators_only
    @blp.response(200, BerthSchema)
    def post(self, berth_id):
        """Put a closed berth back in use, at its sensor's latest state if fresh (else `unknown`). Operators, admins."""
        return _set_closed(berth_id, False)


def _checked(query: dict) -> str | None:
    facility_id = query.get("facility_id")
    if facility_id:
        _facility(facility_id)
    return facility_id


@blp.route("/history")
class History(MethodView):
    @blp.arguments(ParkingWindowQuery, location="query")
    @blp.response(200, ParkingHistorySchema)
    def get(self, query):
        """Hourly occupancy (means of 5-minute snapshots) of one facility or the district, for charts."""
        facility_id = _checked(query)
        since, until = window(query["hours"], datetime.now(UTC))
        series = hourly_series(snapshots(db(), facility_id, since, until))
        return {"facility_id": facility_id, "since": since, "until": until, "hours": series}


@blp.route("/history.csv")
class HistoryCsv(MethodView):
    @blp.arguments(ParkingWindowQuery, location="query")
    @blp.response(200, description="text/csv: one row per facility snapshot", content_type="text/csv")
    def get(self, query):
        """The raw snapshots (UTC) as CSV, for spreadsheets."""
        facility_id = _checked(query)
        since, until = window(query["hours"], datetime.now(UTC))
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["facility_id", "taken_at_utc", *SNAPSHOT_FIELDS])
        for snap in snapshots(db(), facility_id, since, until):
            writer.writerow([snap["facility_id"], snap["taken_at"].isoformat(), *(snap[k] for k in SNAPSHOT_FIELDS)])
        name = f"parking-history-{facility_id or 'district'}.csv"
        return Response(
            out.getvalue(), mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'}
        )


@blp.route("/stats")
class Stats(MethodView):
    @blp.arguments(ParkingWindowQuery, location="query")
    @blp.response(200, ParkingStatsSchema)
    def get(self, query):
        """Occupancy rate, turnover, mean dwell time and peak hours, from the berth sensors' events."""
        facility_id = _checked(query)
        since, until = window(query["hours"], datetime.now(UTC))
        stats = occupancy_statistics(berth_transitions(db(), facility_id, since), since, until, LOCAL)
        return stats | {"facility_id": facility_id}


@blp.route("/kpis")
class Kpis(MethodView):
    @blp.response(200, ParkingKpiSchema)
    def get(self):
        """Plan KPIs: smart-managed share (target 75 %), off-street berths added a year (1,000), known share."""
        inventory = kpis.berth_inventory(db())
        return {
            "smart_share": kpis.smart_share(inventory),
            "off_street_added": kpis.off_street_added(inventory, datetime.now(LOCAL).year),
            "known_share": kpis.known_share(_facilities()),
        }
