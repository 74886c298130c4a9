"""Service requests on the real app (PostgreSQL, Redis): roles, the public lookup, CSRF, lifecycle, SLA sweep."""

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from rq import Queue

from services.accounts.roles import SYSTEM, Role
from services.accounts.store import create_user
from services.db import transaction
from services.service_requests import store
from services.service_requests.models import HistoryIsAppendOnly, RequestHistory
from tests.support.accounts import PASSWORD, csrf_token, logged_in
from tests.support.events import EventLog
from tests.support.services import ROOT

HOME = "wudadao-01"
OTHER = "nanshi-01"
CONTACT = {"resident_name": "张桂兰", "resident_phone": "138 0000 1234", "resident_email": "zhang@example.cn"}


@pytest.fixture
def accounts(runtime):
    with transaction(runtime.sessions) as session:
        create_user(session, "clerk", Role.STAFF, PASSWORD, HOME)
        create_user(session, "clerk-other", Role.STAFF, PASSWORD, OTHER)
        create_user(session, "ops", Role.OPERATOR, PASSWORD)


def submit(client, service_code="EN-STREETLIGHT", **extra):
    body = {"service_code": service_code, "description": "路灯不亮，晚上很黑", "address": "睦南道 20 号"}
    response = client.post("/api/v1/requests", json=body | CONTACT | extra)
    assert response.status_code == 201, response.json
    return response.json


def test_login_logout_and_who_am_i(app, accounts):
    client = app.test_client()
    assert client.get("/api/v1/requests/me").json["role"] == "public"
    assert client.get("/login").status_code == 200
    wrong = client.post("/login", data={"username": "clerk", "password": "nope", "csrf_token": csrf_token(client)})
    assert wrong.status_code == 401
    no_token = client.post("/login", data={"username": "clerk", "password": PASSWORD})
    assert no_token.status_code == 400  # the form is CSRF-protected
    staff = logged_in(app, "clerk")
    assert staff.get("/api/v1/requests/me").json | {"csrf_token": ""} == {
        "role": "staff", "username": "clerk", "community_id": HOME, "csrf_token": "",
    }  # fmt: skip
    cookie = staff.get_cookie("session")
    assert cookie.http_only and cookie.same_site == "Lax"
    staff.post("/logout")
    assert staff.get("/api/v1/requests/me").json["role"] == "public"


def test_next_only_goes_to_this_site(app, accounts):
    client = app.test_client()
    data = {"username": "ops", "password": PASSWORD, "csrf_token": csrf_token(client)}
    assert client.post("/login?next=//evil.example/x", data=data).headers["Location"] == "/"


def test_session_api_needs_the_csrf_header(app, accounts):
    staff = logged_in(app, "clerk")
    del staff.environ_base["HTTP_X_CSRFTOKEN"]
    response = staff.post("/api/v1/requests", json={"service_code": "EN-NOISE"} | CONTACT)
    assert response.status_code == 400 and "CSRF" in response.json["message"]


def test_staff_are_kept_to_their_own_community(app, accounts):
    staff, other, ops = logged_in(app, "clerk"), logged_in(app, "clerk-other"), logged_in(app, "ops")
    created = submit(staff, community_id=OTHER)  # staff cannot file into another community
    rid = created["service_request_id"]
    assert created["community_id"] == HOME and created["resident_phone"] == CONTACT["resident_phone"]

    for path in (f"/api/v1/requests/{rid}", f"/api/v1/requests/{rid}/history"):
        assert other.get(path).status_code == 404
    assert other.post(f"/api/v1/requests/{rid}/transitions", json={"status": "accepted"}).status_code == 404
    assert other.get("/api/v1/requests").json == {"total": 0, "items": []}
    assert staff.get(f"/api/v1/requests/{rid}").json["status"] == "submitted"  # unchanged by the attempt

    assert [r["service_request_id"] for r in staff.get("/api/v1/requests").json["items"]] == [rid]
    assert ops.get(f"/api/v1/requests/{rid}").json["resident_name"] == CONTACT["resident_name"]
    assert ops.get("/api/v1/requests").json["total"] == 1
    own = submit(other, "EN-GARBAGE")
    assert ops.get("/api/v1/requests").json["total"] == 2
    assert (
        ops.get(f"/api/v1/requests?community_id={OTHER}").json["items"][0]["service_request_id"]
        == own["service_request_id"]
    )


def test_the_public_sees_no_personal_data(app, accounts, client):
    staff = logged_in(app, "clerk")
    public_request = submit(staff)
    private_request = submit(
        staff, "EC-HOME-CARE", description="独居，行动不便", attributes={"age": 86, "care_needs": ["meals"]}
    )
    assert client.get("/api/v1/requests").status_code == 401
    for created in (public_request, private_request):
        rid = created["service_request_id"]
        assert client.get(f"/api/v1/requests/{rid}").status_code == 401
        assert client.get(f"/api/v1/requests/{rid}/history").status_code == 401
        assert client.post(f"/api/v1/requests/{rid}/transitions", json={"status": "accepted"}).status_code in (400, 401)
        looked_up = client.get(f"/api/v1/requests/lookup/{rid.lower()}")
        assert looked_up.status_code == 200
        text = looked_up.get_data(as_text=True)
        # Answers to a private service's questions (age, care needs) are personal too: no attribute at all.
        for personal in (*CONTACT.values(), "睦南道 20 号", "clerk", '"age"', "care_needs", "meals"):
            assert personal not in text
        assert looked_up.json["history"][0]["status"] == "submitted"
    assert client.get(f"/api/v1/requests/lookup/{public_request['service_request_id']}").json["description"]
    private_view = client.get(f"/api/v1/requests/lookup/{private_request['service_request_id']}").json
    assert "description" not in private_view and "community_id" not in private_view


def test_an_id_must_be_complete_to_be_looked_up(app, accounts, client):
    rid = submit(logged_in(app, "clerk"))["service_request_id"]
    assert client.get(f"/api/v1/requests/lookup/{rid[:-4]}AAAA").status_code == 404
    assert client.get(f"/api/v1/requests/lookup/{rid.rsplit('-', 1)[0]}").status_code == 404


def test_lifecycle_through_the_api_records_every_change(app, accounts, runtime):
    staff = logged_in(app, "clerk")
    log = EventLog(runtime)
    rid = submit(staff)["service_request_id"]
    url = f"/api/v1/requests/{rid}/transitions"
    assert staff.post(url, json={"status": "resolved"}).status_code == 409
    missing = staff.post(url, json={"status": "rejected"})
    assert missing.status_code == 422 and "note" in missing.json["errors"]["json"]
    for change in (
        {"status": "accepted", "note": "已受理"},
        {"status": "assigned", "assignee": "路灯所 2 班"},
        {"status": "on_hold", "note": "等待供电公司"},
        {"status": "in_progress"},
        {"status": "resolved", "note": "已更换灯泡"},
    ):
        response = staff.post(url, json=change)
        assert response.status_code == 200, response.json
    detail = staff.get(f"/api/v1/requests/{rid}").json
    assert detail["status"] == "resolved" and detail["open311_status"] == "closed"
    assert detail["assignee"] == "路灯所 2 班" and detail["allowed_transitions"] == ["closed", "in_progress"]
    history = staff.get(f"/api/v1/requests/{rid}/history").json
    assert [(h["from_status"], h["to_status"]) for h in history] == [
        (None, "submitted"), ("submitted", "accepted"), ("accepted", "assigned"), ("assigned", "on_hold"),
        ("on_hold", "in_progress"), ("in_progress", "resolved"),
    ]  # fmt: skip
    assert {h["actor_name"] for h in history} == {"clerk"} and history[3]["note"] == "等待供电公司"

    published = log.read("service_request")
    assert [e["status"] for e in published] == ["submitted", "accepted", "assigned", "on_hold", "in_progress",
                                                "resolved"]  # fmt: skip
    assert not any(personal in json.dumps(published, ensure_ascii=False) for personal in CONTACT.values())
    assert Queue("default", connection=runtime.redis).count == 6  # one notification job per change


def test_duplicates_link_to_an_original_the_actor_may_see(app, accounts):
    staff, other = logged_in(app, "clerk"), logged_in(app, "clerk-other")
    original = submit(staff)["service_request_id"]
    foreign = submit(other)["service_request_id"]
    copy = submit(staff)["service_request_id"]
    url = f"/api/v1/requests/{copy}/transitions"
    assert staff.post(url, json={"status": "duplicate", "duplicate_of": foreign}).status_code == 422
    assert staff.post(url, json={"status": "duplicate", "duplicate_of": copy}).status_code == 422
    done = staff.post(url, json={"status": "duplicate", "duplicate_of": original.lower()})
    assert done.status_code == 200 and done.json["duplicate_of"] == original


def test_answers_are_checked_against_the_service(app, accounts):
    staff = logged_in(app, "clerk")
    response = staff.post(
        "/api/v1/requests",
        json={"service_code": "EC-HOME-CARE", "community_id": HOME, "attributes": {"care_needs": ["flying"]}} | CONTACT,
    )
    assert response.status_code == 422
    assert set(response.json["errors"]["json"]["attributes"]) == {"age", "care_needs"}
    assert staff.post("/api/v1/requests", json={"service_code": "NOPE", "address": "x"} | CONTACT).status_code == 404
    no_place = staff.post("/api/v1/requests", json={"service_code": "EN-NOISE"} | CONTACT)
    assert no_place.status_code == 422 and "address" in no_place.json["errors"]["json"]


def test_catalogue_is_public_and_found_by_two_characters(client):
    found = client.get("/api/v1/requests/catalogue/services?q=路灯").json
    assert found[0]["service_code"] == "EN-STREETLIGHT" and found[0]["group"] == "environment"
    assert len(client.get("/api/v1/requests/catalogue/categories").json) == 9
    definition = client.get("/api/v1/requests/catalogue/services/EC-HOME-CARE").json
    assert definition["private"] and definition["metadata"]
    assert [a["code"] for a in definition["attributes"]] == ["age", "care_needs"]


def test_overdue_sweep_marks_each_breach_once_and_the_queue_puts_overdue_first(app, accounts, runtime):
    staff = logged_in(app, "clerk")
    slow = submit(staff, "HS-ELEVATOR-RETROFIT")["service_request_id"]  # responds within 24 h
    urgent = submit(staff, "EN-PARKING-OBSTRUCTION")["service_request_id"]  # responds within 2 h
    later = datetime.now(UTC) + timedelta(hours=3)
    with transaction(runtime.sessions) as session:
        breaches = store.sweep_overdue(session, SYSTEM, later)
        assert [(r.public_id, clock) for r, clock in breaches] == [(urgent, "response")]
        assert store.sweep_overdue(session, SYSTEM, later) == []  # announced once
        items, _ = store.queue(session, store.Actor(Role.OPERATOR), later)
        assert [r.public_id for r in items] == [urgent, slow]
        overdue_only, total = store.queue(session, store.Actor(Role.OPERATOR), later, overdue=True)
        assert total == 1 and overdue_only[0].public_id == urgent
        entry = session.query(RequestHistory).filter_by(action="sla_breach").one()
        assert entry.actor_name == "system" and entry.note == "response overdue"


def test_history_is_never_rewritten(app, accounts, runtime):
    submit(logged_in(app, "clerk"))
    with pytest.raises(HistoryIsAppendOnly), transaction(runtime.sessions) as session:
        session.query(RequestHistory).one().note = "rewritten"
    with pytest.raises(HistoryIsAppendOnly), transaction(runtime.sessions) as session:
        session.delete(session.query(RequestHistory).one())


def test_civic_user_create(runtime, env):
    def civic(*args):
        return subprocess.run(
            [sys.executable, "-m", "services.cli", "user", "create", *args],
            env=env, cwd=ROOT, capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    made = civic("desk-1", "--role", "staff", "--community", HOME)
    assert made.returncode == 0, made.stderr
    assert len(made.stdout.strip().splitlines()[-1]) >= 10  # the generated password, last line
    assert "need a community" in civic("desk-2", "--role", "staff").stderr
    assert "no community" in civic("desk-3", "--role", "staff", "--community", "atlantis").stderr
    assert "exists already" in civic("desk-1", "--role", "staff", "--community", HOME).stderr
