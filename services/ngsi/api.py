"""HTTP: ``GET /ngsi-ld/v1/entities?type=T`` in keyValues form, for FIWARE-speaking clients."""

from __future__ import annotations

from itertools import islice

from flask import jsonify, request
from flask.views import MethodView
from flask_smorest import abort
from marshmallow import Schema, fields, validate

from services.blueprint import Blueprint
from services.extensions import db, runtime
from services.ngsi import CONTEXT, entity_types
from services.paging import offset_field

blp = Blueprint("ngsi", __name__, url_prefix="/ngsi-ld/v1", description="NGSI-LD entities (Smart Data Models)")

MAX_LIMIT = 1000  # NGSI-LD lets brokers cap page size; clients page with offset


class EntitiesQuery(Schema):
    type = fields.String(required=True, metadata={"description": "Entity type, e.g. ParkingSpot"})
    limit = fields.Integer(load_default=100, validate=validate.Range(1, MAX_LIMIT))
    offset = offset_field()
    options = fields.String(load_default="keyValues", validate=validate.OneOf(["keyValues"]))


@blp.route("/entities")
class Entities(MethodView):
    @blp.arguments(EntitiesQuery, location="query")
    @blp.response(200, description="A JSON array of entities in keyValues form, each with its @context")
    def get(self, query):
        """List entities of one type (keyValues form, `application/ld+json`)."""
        known = entity_types()
        kind = known.get(query["type"])
        if kind is None:
            abort(400, message=f"unknown entity type {query['type']!r}", errors={"type": sorted(known)})
        rows = kind.rows(db(), runtime())
        page = [
            {"@context": CONTEXT, **entity}
            for entity in islice(rows, query["offset"], query["offset"] + query["limit"])
        ]
        response = jsonify(page)
        wants_ld = "ld+json" in request.headers.get("Accept", "")
        response.mimetype = "application/ld+json" if wants_ld else "application/json"
        return response
