"""Operators send a request to a community centre from its page (Open311 apps file requests without one)."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _

from services.accounts.auth import current_actor, operators_only
from services.extensions import db, runtime
from services.service_requests import store
from services.service_requests.jobs import announce_change
from services.service_requests.lifecycle import InvalidTransition, MissingDetail
from web.desk import _detail, _request_or_404, bp, catalogue, community_name


@bp.post("/desk/requests/<request_id>/route")
@operators_only
def route(request_id: str):
    """Move the request to the chosen community's queue; recorded in its history with the note."""
    found = _request_or_404(request_id)
    community_id = request.form.get("community_id", "").strip()
    note = request.form.get("route_note", "")[:2000]
    session = db()
    try:
        store.route(session, current_actor(), found, community_id, note, datetime.now(UTC))
    except InvalidTransition:
        session.rollback()
        return _detail(found, error=_("This request is finished: no further changes."), status=409)
    except MissingDetail:
        session.rollback()
        return _detail(found, error=_("Choose a community from the list."), status=422)
    session.commit()
    announce_change(runtime(), found, catalogue().service(found.service_code).name_zh, "routed")
    flash(_("Sent to %(community)s.", community=community_name(community_id)), "success")
    return redirect(url_for(".detail", request_id=found.public_id))
