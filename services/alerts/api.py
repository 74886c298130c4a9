"""HTTP: list and read alerts; acknowledge, assign and clear them (each change is a live event)."""

from __future__ import annotations

from datetime import UTC, datetime

from flask.views import MethodView
from flask_smorest import abort
from marshmallow import Schema, fields, validate

from services.accounts.auth import current_actor, require_role
from services.accounts.roles import Role
from services.alerts import store
from services.alerts.events import publish
from services.alerts.logic import Action, AlertState, LifecycleError, Severity
from services.audit.store import AuditAction, record
from services.blueprint import Blueprint
from services.extensions import db, runtime

blp = Blueprint("alerts", __name__, url_prefix="/api/v1/alerts", description="Alerts 告警")


def acting_operator() -> str:
    """The name recorded for an alert action: the logged-in operator's (require_role has let them in)."""
    return current_actor().username


OPERATORS = (Role.OPERATOR, Role.ADMIN)  # who may act on alerts: the command centre


class AlertListQuery(Schema):
    state = fields.Enum(AlertState, by_value=True)
    kind = fields.String()
    severity = fields.Enum(Severity, by_value=True)
    source_type = fields.String()
    source_id = fields.String()
    subdistrict_id = fields.String()
    open = fields.Boolean(metadata={"description": "true: raised or acknowledged; false: cleared"})


class AlertSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    source_type = fields.String()
    source_id = fields.String()
    severity = fields.String(metadata={"description": "info | warning | critical"})
    subdistrict_id = fields.String(allow_none=True)
    title_zh = fields.String()
    title_en = fields.String()
    detail = fields.Dict()
    state = fields.String(metadata={"description": "raised | acknowledged | cleared"})
    raised_at = fields.DateTime()
    updated_at = fields.DateTime()
    acknowledged_at = fields.DateTime(allow_none=True)
    acknowledged_by = fields.String(allow_none=True)
    assigned_to = fields.String(allow_none=True)
    cleared_at = fields.DateTime(allow_none=True)
    cleared_by = fields.String(allow_none=True)


class AlertChangeSchema(Schema):
    at = fields.DateTime()
    action = fields.String()
    actor = fields.String()
    state = fields.String()
    detail = fields.Dict()


class AlertDetailSchema(AlertSchema):
    history = fields.List(fields.Nested(AlertChangeSchema))


class NoteSchema(Schema):
    note = fields.String(load_default="", validate=validate.Length(max=500))


class AssignSchema(NoteSchema):
    assignee = fields.String(required=True, validate=validate.Length(min=1, max=120))


@blp.route("")
class Alerts(MethodView):
    @blp.arguments(AlertListQuery, location="query")
    @blp.response(200, AlertSchema(many=True))
    @blp.paginate(page_size=50, max_page_size=500)
    def get(self, query, pagination_parameters):
        """Alerts, newest first, filtered by state, kind, severity, source or subdistrict."""
        items, total = store.list_alerts(db(), query, pagination_parameters.first_item, pagination_parameters.page_size)
        pagination_parameters.item_count = total
        return items


def _detail(alert_id: int) -> dict:
    try:
        alert, changes = store.get_alert(db(), alert_id)
    except store.AlertNotFound:
        abort(404, message=f"no alert {alert_id}")
    return {name: getattr(alert, name) for name in AlertSchema().fields} | {"history": changes}


@blp.route("/<int:alert_id>")
class AlertDetail(MethodView):
    @blp.response(200, AlertDetailSchema)
    def get(self, alert_id):
        """One alert with its history (who did what, when)."""
        return _detail(alert_id)


def _act(alert_id: int, action: Action, change) -> dict:
    """Apply a person's action in one transaction, announce it, and return the alert as it now is."""
    session = db()  # the request's session: loading the logged-in user may already have begun its transaction
    try:
        alert = change(session, datetime.now(UTC))
        event = store.event(alert, action)
        record(session, current_actor(), AuditAction(f"alert.{action}"), "alert", alert_id, {"state": alert.state})
        session.commit()
    except store.AlertNotFound:
        session.rollback()
        abort(404, message=f"no alert {alert_id}")
    except LifecycleError as exc:
        session.rollback()
        abort(409, message=str(exc))
    rt = runtime()
    publish(rt.redis, rt.keys, [event], rt.settings.events_replay_length)
    return _detail(alert_id)


@blp.route("/<int:alert_id>/acknowledge")
class Acknowledge(MethodView):
    @require_role(*OPERATORS)
    @blp.arguments(NoteSchema)
    @blp.response(200, AlertDetailSchema)
    def post(self, body, alert_id):
        """Acknowledge a raised alert (someone is on it). Operators and admins, logged in."""
        actor = acting_operator()
        return _act(
            alert_id, Action.ACKNOWLEDGED, lambda s, at: store.acknowledge(s, alert_id, actor, at, body["note"])
        )


@blp.route("/<int:alert_id>/assign")
class Assign(MethodView):
    @require_role(*OPERATORS)
    @blp.arguments(AssignSchema)
    @blp.response(200, AlertDetailSchema)
    def post(self, body, alert_id):
        """Assign an open alert to a person or team. Operators and admins, logged in."""
        actor = acting_operator()
        return _act(
            alert_id,
            Action.ASSIGNED,
            lambda s, at: store.assign(s, alert_id, body["assignee"], actor, at, body["note"]),
        )


@blp.route("/<int:alert_id>/clear")
class Clear(MethodView):
    @require_role(*OPERATORS)
    @blp.arguments(NoteSchema)
    @blp.response(200, AlertDetailSchema)
    def post(self, body, alert_id):
        """Clear an open alert by hand (evaluators clear ended conditions). Operators and admins, logged in."""
        actor = acting_operator()
        return _act(alert_id, Action.CLEARED, lambda s, at: store.clear(s, alert_id, actor, at, body["note"]))
