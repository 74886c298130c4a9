"""The command centre's console (/ops): alerts, sensor fleet, pipeline health and the plan's KPIs.

For operators and admins only: visitors are sent to the login page, other accounts get a 403 page.
The open alerts are rendered server-side (cheap, and the panel that matters most); ops.js then fetches
the fleet, pipeline and KPI figures once and keeps every panel current from the event stream (a
``reset`` event re-fetches).
"""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, render_template, request
from flask_login import current_user

from services.accounts.auth import login_manager
from services.accounts.roles import CITY_WIDE, Role
from services.alerts.store import list_alerts
from services.district.models import Subdistrict
from services.extensions import db
from web.i18n import current_lang
from web.ops import labels

bp = Blueprint("ops_page", __name__, template_folder="templates")

ALERT_LIMIT = 200  # open alerts on the screen; a district with more has a bigger problem than the list


def operators_page(view):
    """Let operators and admins in; send visitors to log in and come back; refuse other accounts (403)."""

    @wraps(view)
    def checked(*args, **kwargs):
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if Role(current_user.role) not in CITY_WIDE:
            abort(403)  # the error page offers to log in with an operator account
        return view(*args, **kwargs)

    return checked


def _subdistricts() -> dict[str, str]:
    """Subdistrict id -> name in the page's language."""
    zh = current_lang() == "zh"
    return {s.id: (s.name_zh if zh else s.name_en) for s in db().query(Subdistrict).order_by(Subdistrict.id)}


def _alert_filters() -> dict:
    """The inbox's GET filters (the form works without JavaScript); unknown values are ignored."""
    args = request.args
    state = args.get("state") if args.get("state") in labels.STATES else None
    return {
        "severity": args.get("severity") if args.get("severity") in labels.SEVERITIES else None,
        "kind": args.get("kind") or None,
        "state": state,
        "open": None if state else True,
    }


def _open_alerts(filters: dict) -> list:
    alerts, _total = list_alerts(db(), filters, 0, ALERT_LIMIT)
    return labels.inbox_order(alerts)


@bp.get("/ops")
@operators_page
def index():
    """The console: open alerts now; the other panels fill in from the APIs and the stream."""
    filters = _alert_filters()
    return render_template(
        "ops/index.html",
        alerts=_open_alerts(filters),
        filters=filters,
        subdistricts=_subdistricts(),
        labels=labels,
        lang=current_lang(),
        user=current_user,
    )
