"""Security on the real app: headers, login limits, the audit log, device provisioning, no personal data in logs."""

from __future__ import annotations

import logging

import pytest
from flask import jsonify
from sqlalchemy import select, text

from services.accounts.roles import Role
from services.accounts.store import create_user
from services.app import create_app
from services.db import transaction
from services.parking.models import Berth
from services.ratelimit import submission_rate_limit
from services.service_requests.notify import LogNotifier, status_changed
from tests.support.accounts import PASSWORD, csrf_token, logged_in

HOME = "wudadao-01"
RESIDENT = {"resident_name": "欧阳测试", "resident_phone": "186 5555 0199", "resident_email": "ouyang.test@example.cn"}


@pytest.fixture
def accounts(runtime):
    with transaction(runtime.sessions) as session:
        create_user(session, "clerk", Role.STAFF, PASSWORD, HOME)
        create_user(session, "ops", Role.OPERATOR, PASSWORD)
        create_user(session, "boss", Role.ADMIN, PASSWORD)


def submit(client) -> dict:
    body = {"service_code": "EN-STREETLIGHT", "description": "路灯不亮", "address": "睦南道 20 号", **RESIDENT}
    response = client.post("/api/v1/requests", json=body)
    assert response.status_code == 201, response.json
    return response.json


# -- headers ------------------------------------------------------------------------------------------
def test_every_response_carries_the_security_headers(client):
    for path in ("/", "/api/v1/parking/facilities", "/static/css/civic.css", "/api/v1/requests/lookup/nope"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "'unsafe-inline'" not in csp, path
        assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "same-origin"
        assert "geolocation=()" in headers["Permissions-Policy"]
        assert "Strict-Transport-Security" not in headers  # plain HTTP by default
    assert "geolocation=(self)" in client.get("/parking").headers["Permissions-Policy"]


def test_swagger_ui_may_run_its_own_bootstrap_script_only(client):
    response = client.get("/api/docs")
    csp = response.headers["Content-Security-Policy"]
    assert response.status_code == 200 and "'sha256-" in csp and "'unsafe-inline'" not in csp
    assert "'sha256-" not in client.get("/").headers["Content-Security-Policy"]


def test_hsts_and_secure_cookie_behind_tls(runtime, accounts):
    app = create_app(runtime.settings.replace(session_cookie_secure=True))
    assert app.test_client().get("/").headers["Strict-Transport-Security"].startswith("max-age=")


def test_logged_in_pages_are_not_cached(app, accounts):
    staff = logged_in(app, "clerk")
    assert staff.get("/api/v1/requests").headers["Cache-Control"] == "no-store"


# -- rate limits --------------------------------------------------------------------------------------
@pytest.fixture
def limited_app(runtime):
    return create_app(runtime.settings.replace(login_rate_limit="3/minute", submission_rate_limit="2/minute"))


def _login(client, username, password, ip="10.0.0.1"):
    data = {"username": username, "password": password, "csrf_token": csrf_token(client)}
    return client.post("/login", data=data, environ_base={"REMOTE_ADDR": ip})


def test_failed_logins_are_limited_per_address_and_per_username(limited_app, accounts):
    client = limited_app.test_client()
    assert _login(client, "ops", PASSWORD).status_code == 302  # a success is not counted
    client = limited_app.test_client()
    for _ in range(3):
        assert _login(client, "clerk", "wrong password").status_code == 401
    blocked = _login(client, "clerk", PASSWORD)  # even the right password waits now
    assert blocked.status_code == 429 and "Retry-After" in blocked.headers
    assert "登录失败次数过多" in blocked.get_data(as_text=True)  # the login page, with a readable message
    other_ip = _login(limited_app.test_client(), "clerk", PASSWORD, ip="10.0.0.2")
    assert other_ip.status_code == 429  # per username: another address does not help
    assert _login(limited_app.test_client(), "ops", PASSWORD, ip="10.0.0.3").status_code == 302


def test_the_submission_limit_is_one_decorator_and_answers_in_the_error_shape(limited_app):
    @submission_rate_limit
    def submit_view():
        return jsonify(ok=True), 201

    limited_app.add_url_rule("/api/v1/test-submit", view_func=submit_view, methods=["POST"])
    client = limited_app.test_client()
    client.environ_base["HTTP_X_CSRFTOKEN"] = csrf_token(client)
    assert [client.post("/api/v1/test-submit").status_code for _ in range(2)] == [201, 201]
    refused = client.post("/api/v1/test-submit")
    assert refused.status_code == 429
    assert refused.json["code"] == 429 and refused.json["status"] == "Too Many Requests" and refused.json["message"]


# -- audit log ----------------------------------------------------------------------------------------
def test_staff_actions_are_audited_without_personal_data(app, accounts, client):
    _login(client, "clerk", "wrong password")
    staff, ops, admin = logged_in(app, "clerk"), logged_in(app, "ops"), logged_in(app, "boss")
    rid = submit(staff)["service_request_id"]
    assert staff.post(f"/api/v1/requests/{rid}/transitions", json={"status": "accepted"}).status_code == 200
    assert ops.post("/api/v1/parking/berths/P-ZIYANGLI-001/close").json["status"] == "closed"
    assert ops.get("/api/v1/audit").status_code == 403

    response = admin.get("/api/v1/audit?page_size=100")
    assert response.status_code == 200
    actions = {(e["actor"], e["action"], e["target_id"]) for e in response.json}
    assert {
        ("clerk", "login.failed", "clerk"),
        ("clerk", "login", "clerk"),
        ("clerk", "request.submit", rid),
        ("clerk", "request.transition", rid),
        ("ops", "berth.close", "P-ZIYANGLI-001"),
        ("system", "user.create", "boss"),
    } <= actions
    assert all(v not in response.get_data(as_text=True) for v in RESIDENT.values())
    transition = admin.get(f"/api/v1/audit?action=request.transition&target_id={rid}").json
    assert [(e["detail"], e["outcome"], e["source_ip"]) for e in transition] == [
        ({"from": "submitted", "to": "accepted"}, "ok", "127.0.0.1")
    ]
    paged = admin.get("/api/v1/audit?action=login&page=1&page_size=2")
    assert len(paged.json) == 2 and "X-Pagination" in paged.headers


def test_the_audit_log_is_append_only_on_postgresql(runtime, accounts):
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("the trigger is PostgreSQL's; SQLite's audit log is append-only by code")
    with pytest.raises(Exception, match="append-only"), runtime.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'someone else'"))


# -- devices from the admin API -----------------------------------------------------------------------
def test_admins_provision_and_revoke_devices(app, accounts, runtime):
    admin = logged_in(app, "boss")
    with runtime.sessions() as session:
        unwatched = session.scalar(select(Berth.id).where(Berth.device_id.is_(None)).order_by(Berth.id).limit(1))
    created = admin.post("/api/v1/devices", json={"berth_id": unwatched})
    assert created.status_code == 201, created.json
    device_id, password = created.json["device"]["id"], created.json["mqtt"]["password"]
    assert created.json["mqtt"]["username"] == device_id and len(password) >= 16
    passwd = (runtime.settings.mosquitto_auth_dir / "passwd").read_text()
    assert f"{device_id}:" in passwd and password not in passwd  # the broker gets only the hash
    assert password not in admin.get(f"/api/v1/devices/{device_id}").get_data(as_text=True)  # shown once

    revoked = admin.post(f"/api/v1/devices/{device_id}/revoke")
    assert revoked.status_code == 200 and revoked.json["active"] is False
    assert f"{device_id}:" not in (runtime.settings.mosquitto_auth_dir / "passwd").read_text()
    assert admin.post("/api/v1/devices", json={"station_id": "AQ-NOWHERE"}).status_code == 422
    audit = {e["action"] for e in admin.get(f"/api/v1/audit?target_id={device_id}").json}
    assert audit == {"device.provision", "device.revoke"}


# -- personal data never in logs ----------------------------------------------------------------------
def test_residents_contact_details_never_reach_the_log(app, accounts, caplog):
    caplog.set_level(logging.DEBUG)
    staff = logged_in(app, "clerk")
    rid = submit(staff)["service_request_id"]
    staff.post(f"/api/v1/requests/{rid}/transitions", json={"status": "accepted"})
    staff.get(f"/api/v1/requests/{rid}")
    LogNotifier().send(status_changed(rid, "accepted", "路灯", RESIDENT["resident_email"]))
    messages = "\n".join(r.getMessage() for r in caplog.records)
    assert "notification to 1 recipient" in messages  # the notifier did log, without the address
    for value in RESIDENT.values():
        assert value not in messages


# -- NUL characters ------------------------------------------------------------------------------------
def test_nul_characters_are_refused_before_any_write(app, accounts, runtime):
    """PostgreSQL refuses NUL in text: it used to fail inside the insert as a 500; now a 400 that says why."""
    staff = logged_in(app, "clerk")
    body = {"service_code": "EN-STREETLIGHT", "description": "路灯\u0000不亮", "address": "睦南道 20 号", **RESIDENT}
    for response in (
        staff.post("/api/v1/requests", json=body),
        staff.post("/api/v1/requests", data='{"service_code": "EN-NOISE\\u0000"}', content_type="application/json"),
        staff.get("/api/v1/requests?service_code=EN%00"),
        staff.post("/login", data={"username": "clerk\x00", "password": PASSWORD}),
    ):
        assert response.status_code == 400 and "NUL" in response.json["message"], response.data
    with runtime.sessions() as session:
        assert session.scalar(text("SELECT count(*) FROM service_requests")) == 0
    assert staff.post("/api/v1/requests", json=body | {"description": "路灯不亮"}).status_code == 201
