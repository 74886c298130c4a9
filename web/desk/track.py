"""The resident's page (/track): type the request id from the receipt, see its status and history.

Public and phone-first. It shows what the public lookup API shows and nothing more: no names, phones,
addresses, notes or staff names; for private services (social assistance, elderly care, ...) not even
the description or the community.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request

from services.extensions import db
from services.service_requests import store
from services.service_requests.lifecycle import Status, open311_status
from web.desk import catalogue, community_name, labels

bp = Blueprint("track_page", __name__, template_folder="templates")

PUBLIC_ACTIONS = ("submitted", "transition")  # SLA-breach entries are internal


@bp.get("/track")
def index():
    """The lookup form; with ``?id=`` the request's public status and its steps, oldest first."""
    request_id = request.args.get("id", "").strip()
    if not request_id:
        return render_template("desk/track.html", request_id="", found=None, labels=labels)
    found = store.find_public(db(), request_id)
    if found is None:
        return render_template("desk/track.html", request_id=request_id, found=None, labels=labels), 404
    steps = [e for e in store.history(db(), found) if e.action in PUBLIC_ACTIONS]
    return render_template(
        "desk/track.html",
        request_id=request_id,
        found=found,
        service=catalogue().service(found.service_code),
        steps=steps,
        open_now=open311_status(Status(found.status)) == "open",
        community=None if found.private else community_name(found.community_id),
        labels=labels,
    )
