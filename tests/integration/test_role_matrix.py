"""The role matrix: every route of the app, called by every kind of visitor, gets exactly what policy.py says.

Routes come from ``app.url_map``, so a new endpoint fails ``test_every_route_is_classified`` until it is added
to services/accounts/policy.py. Each (method, route) is then called on the real app (PostgreSQL, Redis) by
five visitors, logged in through the real login form: nobody, staff of the record's community, staff of
another community, an operator and an admin.

Allowed: neither 401 nor 403 nor a redirect to the login form, and no 5xx. Refused: 401 (API) or a redirect
to /login (pages) for nobody; 403 for a logged-in account without the role; 404 for staff of another
community on a record of someone else's community (existence is hidden on purpose).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from services.accounts.api_keys import create_key
from services.accounts.policy import ROUTES, Access, may
from services.accounts.roles import Role
from services.accounts.store import create_user
from services.alerts import store as alerts
from services.db import transaction
from services.pipeline.store import record_dead_letters
from tests.support.accounts import PASSWORD, csrf_token, logged_in

HOME, OTHER = "wudadao-01", "nanshi-01"
DEVICE, BERTH, FACILITY, STATION = "S-P-ZIYANGLI-001", "P-ZIYANGLI-001", "P-ZIYANGLI", "AQ-HEPING-01"
# Visitor -> (username, role, community); "nobody" is not logged in.
VISITORS = {
    "nobody": None,
    "staff": ("clerk", Role.STAFF, HOME),
    "staff_elsewhere": ("clerk-other", Role.STAFF, OTHER),
    "operator": ("ops", Role.OPERATOR, None),
    "admin": ("boss", Role.ADMIN, None),
}
CONTACT = {"resident_name": "测试居民", "resident_phone": "139 1111 2222"}
BODIES = {  # what an allowed visitor sends, so the call does real work
    ("POST", "/api/v1/requests"): {
        "service_code": "EN-STREETLIGHT",
        "description": "路灯不亮",
        "address": "睦南道 20 号",
        **CONTACT,
    },
    ("POST", "/api/v1/requests/<request_id>/transitions"): {"status": "accepted", "note": "matrix"},
    ("POST", "/api/v1/alerts/<int:alert_id>/assign"): {"assignee": "巡查一组"},
    ("POST", "/api/v1/requests/<request_id>/route"): {"community_id": HOME, "note": "matrix"},
    ("POST", "/api/v1/devices"): {"device_id": DEVICE},  # re-issue: a new password for a known device
}
OPEN311_POST = ("POST", "/open311/v2/requests.<fmt>")  # form-encoded, with an application's api_key
OPEN311_FORM = {"service_code": "EN-STREETLIGHT", "address_string": "睦南道 20 号", "description": "路灯不亮"}
STREAMS = {("GET", "/api/v1/events/stream")}  # endless: read the status only
PROBES = {("GET", "/readyz")}  # 503 is its honest answer here: the test app has no broker


def app_routes(app) -> set[tuple[str, str]]:
    return {(method, rule.rule) for rule in app.url_map.iter_rules() for method in rule.methods - {"HEAD", "OPTIONS"}}


def test_every_route_is_classified(app):
    routes = app_routes(app)
    assert not routes - set(ROUTES), "routes missing from services/accounts/policy.py ROUTES"
    assert not set(ROUTES) - routes, "policy.py lists routes the app does not have"


def test_the_policy_table_is_what_the_docs_say():
    assert may(Role.PUBLIC, Access.PUBLIC) and not may(Role.PUBLIC, Access.ACCOUNTS)
    assert not may(Role.STAFF, Access.OPERATORS) and may(Role.OPERATOR, Access.OPERATORS)
    assert not may(Role.OPERATOR, Access.ADMIN) and may(Role.ADMIN, Access.ADMIN)


@pytest.fixture
def world(app, runtime):
    """Accounts, one request of HOME, an open alert and a dead letter; the ids every route's URL needs."""
    now = datetime.now(UTC)
    with transaction(runtime.sessions) as session:
        for username, role, community in filter(None, VISITORS.values()):
            create_user(session, username, role, PASSWORD, community)
        alert, _ = alerts.raise_or_refresh(
            session, kind="station_offline", source_type="air_station", source_id=STATION, severity="warning",
            title_zh="站点离线", title_en="Station offline", detail={}, at=now,
        )  # fmt: skip
        letter = {"uid": "matrix-1", "received_at": now.timestamp(), "topic": "heping/x", "payload": b"{}",
                  "reason": "unknown_device", "detail": "matrix"}  # fmt: skip
        record_dead_letters(session, [letter])
        alert_id = alert.id
        _, api_key = create_key(session, "matrix-app", Role.PUBLIC)
    clients = {name: logged_in(app, who[0]) if who else _anonymous(app) for name, who in VISITORS.items()}
    request_id = clients["staff"].post("/api/v1/requests", json=BODIES[("POST", "/api/v1/requests")])
    assert request_id.status_code == 201, request_id.json
    with runtime.sessions() as session:
        from services.pipeline.models import DeadLetter

        letter_id = session.query(DeadLetter.id).scalar()
    ids = {
        "request_id": request_id.json["service_request_id"],
        "alert_id": alert_id,
        "letter_id": letter_id,
        "device_id": DEVICE,
        "berth_id": BERTH,
        "facility_id": FACILITY,
        "station_id": STATION,
        "service_code": "EN-STREETLIGHT",
        "code": "EN-STREETLIGHT",
        "fmt": "json",
        "token": "no-such-token",
        "name": "AAAAAAAAAAAAAAAAAAAAAA.png",
        "api_key": api_key,
    }
    return clients, ids


def _anonymous(app):
    """Not logged in, but with a valid CSRF token: the role check, not CSRF, must be what refuses it."""
    client = app.test_client()
    client.environ_base["HTTP_X_CSRFTOKEN"] = csrf_token(client)
    return client


def url_for_rule(rule: str, ids: dict) -> str:
    if rule == "/static/<path:filename>":
        return "/static/css/civic.css"
    if rule == "/api/docs/assets/<path:filename>":
        return "/api/docs/assets/swagger-ui.css"
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: str(ids[m.group(1)]), rule)


def call(client, method: str, rule: str, url: str, ids: dict):
    if (method, rule) == OPEN311_POST:
        return client.post(url, data=OPEN311_FORM | {"api_key": ids["api_key"]})
    if (method, rule) in STREAMS:
        response = client.open(url, method=method, buffered=False)
        response.close()
        return response
    if rule == "/login" and method == "POST":
        data = {"username": "boss", "password": PASSWORD, "csrf_token": csrf_token(client)}
        return client.post(url, data=data)
    return client.open(url, method=method, json=BODIES.get((method, rule), {}))


def expected_refusal(visitor: str, access: Access, rule: str) -> int | None:
    """The status a visitor must get, or None when they are let through."""
    who = VISITORS[visitor]
    role = who[1] if who else Role.PUBLIC
    if not may(role, access):
        if who is None:
            return 401 if rule.startswith("/api/") else 302
        return 403
    if access is Access.COMMUNITY and visitor == "staff_elsewhere":
        return 404  # another community's request: hidden, as if it did not exist
    return None


def _refused_to_login(response) -> bool:
    return response.status_code in (301, 302, 303) and "/login?next=" in response.headers.get("Location", "")


# Refused visitors first: their calls must change nothing that the allowed ones then act on.
ORDER = ("nobody", "staff_elsewhere", "staff", "operator", "admin")


@pytest.mark.parametrize(("method", "rule"), sorted(ROUTES), ids=lambda v: v)
def test_role_matrix(method, rule, world):
    clients, ids = world
    access = ROUTES[(method, rule)]
    url = url_for_rule(rule, ids)
    refused = sorted(ORDER, key=lambda v: expected_refusal(v, access, rule) is None)  # refusals first
    for visitor in refused:
        response = call(clients[visitor], method, rule, url, ids)
        want = expected_refusal(visitor, access, rule)
        seen = f"{method} {url} as {visitor} ({access}): {response.status_code} {response.get_data(as_text=True)[:200]}"
        if want is None:
            assert response.status_code not in (401, 403), seen
            assert response.status_code < 500 or (method, rule) in PROBES, seen
            assert not _refused_to_login(response), seen
        elif want == 302:
            assert _refused_to_login(response), seen
        else:
            assert response.status_code == want, seen
