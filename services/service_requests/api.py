"""HTTP: the service catalogue, the desk's requests and queue (login), and the public lookup by id.

Staff see and change only their own community's requests; operators and admins all. A request out of
the caller's reach answers 404, exactly like one that does not exist, so ids cannot be probed.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask.views import MethodView
from flask_smorest import abort
from flask_wtf.csrf import generate_csrf

from services.accounts.auth import current_actor, require_role
from services.accounts.roles import ACCOUNT_ROLES, CITY_WIDE
from services.blueprint import Blueprint
from services.district.models import Community
from services.extensions import db, runtime
from services.service_requests import ngsi, store
from services.service_requests import schemas as sch
from services.service_requests.attributes import validate_attributes
from services.service_requests.catalogue import Catalogue, district_catalogue
from services.service_requests.jobs import announce_change
from services.service_requests.lifecycle import (
    Change,
    InvalidTransition,
    MissingDetail,
    NotPermitted,
    Status,
    allowed_targets,
    open311_status,
)
from services.service_requests.sla import sla_state

blp = Blueprint(
    "service_requests", __name__, url_prefix="/api/v1/requests", description="Community service requests 社区服务申请"
)
ngsi.register()


@blp.record_once
def _check_catalogue_on_start(state) -> None:
    """Load (and so validate) the catalogue when the app is built: a broken file stops start-up."""
    district_catalogue(state.app.extensions["civic"].settings.district_file)


def catalogue() -> Catalogue:
    return district_catalogue(runtime().settings.district_file)


def _service_or_404(code: str):
    service = catalogue().service(code)
    if service is None:
        abort(404, message=f"no service {code!r} in the catalogue")
    return service


def _request_or_404(request_id: str):
    request = store.find(db(), current_actor(), request_id)
    if request is None:
        abort(404, message=f"no request {request_id} that you may see")
    return request


def _clock(c) -> dict:
    return {"due_at": c.due_at, "overdue": c.overdue, "paused": c.paused,
            "remaining_seconds": int(c.remaining.total_seconds())}  # fmt: skip


def _view(request, with_clocks: bool = False) -> dict:
    """The request with what the schemas add: names, Open311 status, clocks, link to the original."""
    service = catalogue().service(request.service_code)
    now = datetime.now(UTC)
    row = {c.key: getattr(request, c.key) for c in request.__table__.columns}
    row |= {
        "service_name_zh": service.name_zh,
        "service_name_en": service.name_en,
        "open311_status": open311_status(Status(request.status)),
        "allowed_transitions": sorted(allowed_targets(Status(request.status))),
        "duplicate_of": store.original_public_id(db(), request),
        "overdue": any(d is not None and d < now for d in (request.response_due_at, request.resolution_due_at)),
    }
    if with_clocks:
        state = sla_state(store.timeline(store.history(db(), request)), service.sla, now)
        row |= {"response_clock": _clock(state.response), "resolution_clock": _clock(state.resolution)}
    return row


# -- catalogue (public) -------------------------------------------------------------------------------
@blp.route("/catalogue/categories")
class Categories(MethodView):
    @blp.response(200, sch.ServiceCategorySchema(many=True))
    def get(self):
        """The 9 categories and the codes of their services."""
        return list(catalogue().categories)


@blp.route("/catalogue/services")
class Services(MethodView):
    @blp.arguments(sch.CatalogueQuery, location="query")
    @blp.response(200, sch.CatalogueServiceSchema(many=True))
    def get(self, query):
        """Services, searched by a few characters of a name or keyword (Chinese or English), name matches first."""
        return catalogue().search(query["q"], query.get("category"))


@blp.route("/catalogue/services/<service_code>")
class ServiceDefinition(MethodView):
    @blp.response(200, sch.CatalogueServiceSchema)
    def get(self, service_code):
        """One service with its attributes (the Open311 service definition), SLA and agency."""
        return _service_or_404(service_code)


# -- the logged-in desk ----------------------------------------------------------------------------------
@blp.route("/me")
class Me(MethodView):
    @blp.response(200, sch.SessionActorSchema)
    def get(self):
        """Who is logged in (role ``public`` if nobody) and the CSRF token for the X-CSRFToken header."""
        actor = current_actor()
        return {"role": actor.role, "username": actor.username, "community_id": actor.community_id,
                "csrf_token": generate_csrf()}  # fmt: skip


@blp.route("")
class Requests(MethodView):
    @require_role(*ACCOUNT_ROLES)
    @blp.arguments(sch.RequestQueueQuery, location="query")
    @blp.response(200, sch.RequestQueuePage)
    def get(self, query):
        """The queue: open requests by default, overdue first; staff see their community only."""
        actor = current_actor()
        items, total = store.queue(db(), actor, datetime.now(UTC), statuses=query.pop("status", None), **query)
        return {"total": total, "items": [_view(r) for r in items]}

    @require_role(*ACCOUNT_ROLES)
    @blp.arguments(sch.SubmissionSchema)
    @blp.response(201, sch.ServiceRequestSchema)
    def post(self, data):
        """Log a resident's request; its answers are checked against the service's attributes."""
        actor = current_actor()
        service = _service_or_404(data.pop("service_code"))
        answers, errors = validate_attributes(service, data.pop("attributes"))
        if errors:
            abort(422, message="some answers do not fit the service", errors={"json": {"attributes": errors}})
        if not actor.city_wide:
            data["community_id"] = actor.community_id  # the desk logs requests for its own community
        elif data["community_id"] and db().get(Community, data["community_id"]) is None:
            abort(422, message="unknown community", errors={"json": {"community_id": [data["community_id"]]}})
        session = db()
        request = store.submit(
            session, catalogue(), actor, store.Submission(service, attributes=answers, **data), datetime.now(UTC)
        )
        session.commit()
        announce_change(runtime(), request, service.name_zh, "submitted")
        return _view(request, with_clocks=True)


@blp.route("/<request_id>")
class RequestDetail(MethodView):
    @require_role(*ACCOUNT_ROLES)
    @blp.response(200, sch.ServiceRequestSchema)
    def get(self, request_id):
        """One request with contact details and SLA clocks (staff of its community, operators)."""
        return _view(_request_or_404(request_id), with_clocks=True)


def _changed(request, apply, action: str) -> dict:
    """Run one change through the store, answer the lifecycle's refusals in HTTP, commit, announce it."""
    session = db()
    try:
        apply(session, current_actor(), datetime.now(UTC))
    except NotPermitted as exc:
        abort(403, message=str(exc))
    except InvalidTransition as exc:
        abort(409, message=str(exc))
    except MissingDetail as exc:
        abort(422, message=str(exc), errors={"json": {exc.field: [str(exc)]}})
    session.commit()
    announce_change(runtime(), request, catalogue().service(request.service_code).name_zh, action)
    return _view(request, with_clocks=True)


@blp.route("/<request_id>/transitions")
class Transitions(MethodView):
    @require_role(*ACCOUNT_ROLES)
    @blp.arguments(sch.ChangeSchema)
    @blp.response(200, sch.ServiceRequestSchema)
    @blp.alt_response(409, description="The current status does not allow this change")
    def post(self, data, request_id):
        """Move the request on (lifecycle rules and role checked); the change is recorded with its note."""
        request = _request_or_404(request_id)
        change = Change(Status(data["status"]), data["note"], data["assignee"], data["duplicate_of"])
        return _changed(
            request,
            lambda s, actor, now: store.change_status(s, catalogue(), actor, request, change, now),
            "transition",
        )


@blp.route("/<request_id>/route")
class Route(MethodView):
    @require_role(*CITY_WIDE)
    @blp.arguments(sch.RouteSchema)
    @blp.response(200, sch.ServiceRequestSchema)
    @blp.alt_response(409, description="The request is final")
    def post(self, data, request_id):
        """Send the request to a community centre (operators): Open311 apps file requests without one."""
        request = _request_or_404(request_id)
        community_id, note = data["community_id"], data["note"]
        return _changed(
            request, lambda s, actor, now: store.route(s, actor, request, community_id, note, now), "routed"
        )


@blp.route("/<request_id>/history")
class History(MethodView):
    @require_role(*ACCOUNT_ROLES)
    @blp.response(200, sch.RequestHistorySchema(many=True))
    def get(self, request_id):
        """Every change, oldest first: who, when, from and to, and the note."""
        return store.history(db(), _request_or_404(request_id))


# -- public ----------------------------------------------------------------------------------------------
@blp.route("/lookup/<request_id>")
class PublicLookup(MethodView):
    @blp.response(200, sch.PublicRequestSchema)
    def get(self, request_id):
        """Anyone with the full id: status and its history, without personal data."""
        request = store.find_public(db(), request_id)
        if request is None:
            abort(404, message=f"no request {request_id}")
        row = _view(request)
        row["history"] = [e for e in store.history(db(), request) if e.action in ("submitted", "transition")]
        if request.private:
            del row["description"], row["community_id"]
        return row
