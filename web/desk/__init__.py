"""The community-centre desk (/desk): log a resident's request, work the queue, move a request along.

Server-rendered forms that POST (with the CSRF token) and work without JavaScript; desk.js only makes
the service search live, swaps in the chosen service's fields and refreshes the queue from the event
stream, using the same fragments (``/desk/services``, ``/desk/queue``) the server renders.
Rules live in the backend (services/service_requests): this module reads forms, calls the store and
renders. Staff see only their community's requests; anything else is a 404, as in the API.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from services.accounts.auth import current_actor, require_role
from services.accounts.roles import ACCOUNT_ROLES
from services.district.models import Community
from services.extensions import db, runtime
from services.service_requests import store
from services.service_requests.attributes import STRING_MAX, TEXT_MAX
from services.service_requests.catalogue import Catalogue, Service, district_catalogue
from services.service_requests.jobs import announce_change
from services.service_requests.lifecycle import (
    FINAL,
    Change,
    InvalidTransition,
    MissingDetail,
    NotPermitted,
    Status,
    allowed_targets,
)
from services.service_requests.sla import sla_state
from web.desk import labels
from web.desk.forms import attribute_field, detail_message, read_change, read_intake

bp = Blueprint("desk_page", __name__, template_folder="templates")

SEARCH_MIN_CHARS = 2  # a clerk types two characters (两个字) before the list filters
SEARCH_LIMIT = 12
QUEUE_LIMIT = 50
desk_only = require_role(*ACCOUNT_ROLES)


def catalogue() -> Catalogue:
    return district_catalogue(runtime().settings.district_file)


def _communities() -> list[Community]:
    return list(db().query(Community).order_by(Community.id))


def _search(text: str) -> list[Service]:
    return catalogue().search(text)[:SEARCH_LIMIT] if len(text.strip()) >= SEARCH_MIN_CHARS else []


def _queue_filters() -> dict:
    """The queue's GET filters (status, category, overdue yes/no); values the catalogue does not know are ignored."""
    args = request.args
    status = args.get("status", "")
    return {
        "statuses": [status] if status in set(Status) else None,
        "category": args.get("category") if catalogue().category(args.get("category", "")) else None,
        "overdue": {"yes": True, "no": False}.get(args.get("overdue", "")),
    }


def _queue() -> dict:
    now = datetime.now(UTC)
    items, total = store.queue(db(), current_actor(), now, limit=QUEUE_LIMIT, **_queue_filters())
    return {"queue": items, "queue_total": total, "filters": request.args, "now": now}


def _common() -> dict:
    return {
        "catalogue": catalogue(),
        "labels": labels,
        "statuses": list(Status),
        "final_statuses": FINAL,
        "search_min_chars": SEARCH_MIN_CHARS,
        "attribute_field": attribute_field,
        "actor": current_actor(),
        "from_iso": datetime.fromisoformat,
        "string_max": STRING_MAX,
        "text_max": TEXT_MAX,
        "user": current_user,
    }


def community_name(community_id: str | None) -> str | None:
    community = db().get(Community, community_id) if community_id else None
    return labels.local(community, "name") if community else None


def _desk(service: Service | None, form=None, errors=None, status: int = 200):
    q = request.args.get("q", "")
    return render_template(
        "desk/index.html",
        q=q,
        results=_search(q),
        service=service,
        form=form or MultiDict(),
        errors=errors or {},
        communities=_communities() if current_actor().city_wide else [],
        own_community=community_name(current_actor().community_id),
        **_queue(),
        **_common(),
    ), status


@bp.get("/desk")
@desk_only
def index():
    """The intake form (with the chosen service's fields) beside the community's queue, overdue first."""
    return _desk(catalogue().service(request.args.get("service", "")))


@bp.get("/desk/services")
@desk_only
def services():
    """Fragment: the services matching ``q`` (the live search swaps it in; same list as without JS)."""
    q = request.args.get("q", "")
    return render_template("desk/_services.html", q=q, results=_search(q), **_common())


@bp.get("/desk/services/<code>")
@desk_only
def service_fields(code: str):
    """Fragment: the chosen service's card and its attribute fields."""
    service = catalogue().service(code) or abort(make_response("", 404))
    return render_template("desk/_service_fields.html", service=service, form=MultiDict(), errors={}, **_common())


@bp.get("/desk/queue")
@desk_only
def queue():
    """Fragment: the queue under the current filters (the live refresh swaps it in)."""
    return render_template("desk/_queue.html", **_queue(), **_common())


@bp.post("/desk/requests")
@desk_only
def submit():
    """Log the request; on a problem show the form again with what was typed and what to fix."""
    service = catalogue().service(request.form.get("service_code", ""))
    if service is None:
        flash(_("Choose a service first: type two characters of its name."), "error")
        return _desk(None, request.form, {"service_code": _("Choose a service.")}, 422)
    data, errors = read_intake(request.form, service, current_actor())
    if errors:
        return _desk(service, request.form, errors, 422)
    session = db()
    now = datetime.now(UTC)
    created = store.submit(session, catalogue(), current_actor(), store.Submission(service, **data), now)
    session.commit()
    announce_change(runtime(), created, service.name_zh, "submitted")
    flash(_("Request %(id)s logged. Give the resident this id to follow it.", id=created.public_id), "success")
    return redirect(url_for(".detail", request_id=created.public_id))


def _not_here():
    """A page (not the API's JSON error): the request does not exist or is another community's."""
    abort(make_response(render_template("desk/missing.html"), 404))


def _request_or_404(request_id: str):
    found = store.find(db(), current_actor(), request_id)
    return found if found is not None else _not_here()


def _detail(found, note: str = "", error: str | None = None, status: int = 200):
    service = catalogue().service(found.service_code)
    now = datetime.now(UTC)
    entries = store.history(db(), found)
    return render_template(
        "desk/request.html",
        r=found,
        service=service,
        history=entries,
        clocks=sla_state(store.timeline(entries), service.sla, now),
        is_overdue=labels.overdue((found.response_due_at, found.resolution_due_at), now),
        targets=sorted(allowed_targets(Status(found.status)), key=list(Status).index),
        original_id=store.original_public_id(db(), found),
        community=community_name(found.community_id),
        communities=_communities() if current_actor().city_wide and found.status not in FINAL else [],
        note=note,
        error=error,
        form=request.form,
        **_common(),
    ), status


@bp.get("/desk/requests/<request_id>")
@desk_only
def detail(request_id: str):
    """One request: status, SLA clocks, contact, answers, full history, and the changes allowed now."""
    return _detail(_request_or_404(request_id))


@bp.post("/desk/requests/<request_id>/transition")
@desk_only
def transition(request_id: str):
    """Move the request on with a note; the lifecycle decides what is allowed and what must be given."""
    found = _request_or_404(request_id)
    data, error = read_change(request.form)
    note = request.form.get("note", "")
    if error:
        return _detail(found, note, error, 422)
    change = Change(Status(data["status"]), data["note"], data["assignee"], data["duplicate_of"])
    session = db()
    try:
        store.change_status(session, catalogue(), current_actor(), found, change, datetime.now(UTC))
    except NotPermitted:
        _not_here()
    except InvalidTransition:
        session.rollback()
        return _detail(found, note, _("That change is not allowed from the current status."), 409)
    except MissingDetail as exc:
        session.rollback()
        return _detail(found, note, detail_message(exc.field), 422)
    session.commit()
    announce_change(runtime(), found, catalogue().service(found.service_code).name_zh, "transition")
    flash(_("Now: %(status)s.", status=labels.status_label(found.status)), "success")
    return redirect(url_for(".detail", request_id=found.public_id))


from web.desk import routing, stats_page  # noqa: E402, F401  (add /desk/.../route and /desk/stats to this blueprint)
