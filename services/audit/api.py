"""HTTP: read the audit log (admins only), newest first, with filters and paging."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, fields, validate

from services.accounts.auth import require_role
from services.accounts.roles import Role
from services.audit.store import AuditAction, entries
from services.blueprint import Blueprint
from services.extensions import db

blp = Blueprint("audit", __name__, url_prefix="/api/v1/audit", description="Audit log of staff actions 操作审计日志")


class AuditQuery(Schema):
    actor = fields.String(metadata={"description": "username (or the name tried, for failed logins)"})
    action = fields.String(
        validate=validate.Length(max=40),
        metadata={"description": "an action, or a prefix such as `alert.`", "examples": [a.value for a in AuditAction]},
    )
    target_type = fields.String(metadata={"description": "e.g. service_request, alert, device, berth, dead_letter"})
    target_id = fields.String()
    since = fields.AwareDateTime(metadata={"description": "from this instant (inclusive)"})
    until = fields.AwareDateTime(metadata={"description": "before this instant"})


class AuditEntrySchema(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    actor = fields.String()
    actor_role = fields.String()
    action = fields.String()
    target_type = fields.String(allow_none=True)
    target_id = fields.String(allow_none=True)
    outcome = fields.String(metadata={"description": "ok | denied"})
    source_ip = fields.String(allow_none=True)
    detail = fields.Dict()


@blp.route("")
class AuditLog(MethodView):
    @require_role(Role.ADMIN)
    @blp.arguments(AuditQuery, location="query")
    @blp.response(200, AuditEntrySchema(many=True))
    @blp.paginate(page_size=50, max_page_size=500)
    def get(self, query, pagination_parameters):
        """Who did what, when, to what: logins, request changes, alert actions, devices, berths, dead letters."""
        items, total = entries(
            db(), **query, offset=pagination_parameters.first_item, limit=pagination_parameters.page_size
        )
        pagination_parameters.item_count = total
        return items
