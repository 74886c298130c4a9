"""Overdue-request alerts on PostgreSQL: one per community, critical past twice the budget, cleared when none is."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from services.accounts.roles import Role
from services.accounts.store import create_user
from services.alerts.models import Alert, AlertChange
from services.db import transaction
from services.service_requests.alerting import KIND, evaluate
from services.service_requests.catalogue import district_catalogue
from tests.support.accounts import PASSWORD, logged_in

HOME, OTHER = "wudadao-01", "nanshi-01"
RESIDENT = {"resident_name": "张桂兰", "resident_phone": "138 0000 1234", "resident_email": "zhang@example.cn"}
URGENT = "EN-PARKING-OBSTRUCTION"  # responds within 2 h


@pytest.fixture
def desk(app, runtime):
    with transaction(runtime.sessions) as session:
        create_user(session, "clerk", Role.STAFF, PASSWORD, HOME)
    return logged_in(app, "clerk")


def submit(client, service_code=URGENT):
    body = {"service_code": service_code, "description": "车辆占用消防通道", "address": "测试街 7 号"} | RESIDENT
    response = client.post("/api/v1/requests", json=body)
    assert response.status_code == 201, response.json
    return response.json["service_request_id"]


def run(runtime, now):
    with transaction(runtime.sessions) as session:
        return evaluate(session, district_catalogue(runtime.settings.district_file), now)


def open_alerts(runtime):
    with runtime.sessions() as session:
        return list(session.scalars(select(Alert).where(Alert.kind == KIND, Alert.open_key.is_not(None))))


def test_one_alert_per_community_escalated_and_cleared(runtime, desk):
    catalogue = district_catalogue(runtime.settings.district_file)
    budget = timedelta(hours=catalogue.service(URGENT).sla.resolution_hours)
    first, second = submit(desk), submit(desk)
    now = datetime.now(UTC)

    assert run(runtime, now) == []  # nothing overdue yet
    events = run(runtime, now + timedelta(hours=3))  # both past their 2 h response time
    assert [(e["action"], e["alert_kind"], e["source_id"], e["severity"]) for e in events] == [
        ("raised", KIND, HOME, "warning")
    ]
    (alert,) = open_alerts(runtime)
    assert alert.source_type == "community" and alert.subdistrict_id is not None
    assert "2" in alert.title_zh and alert.title_en.endswith("2 overdue requests")
    assert alert.detail["overdue"] == 2 and sorted(alert.detail["request_ids"]) == sorted([first, second])
    text = str(alert.detail) + alert.title_zh + alert.title_en
    assert not any(v in text for v in ("张桂兰", "138 0000", "zhang@", "测试街", "消防"))  # no personal data

    assert run(runtime, now + timedelta(hours=3, minutes=5)) == []  # nothing new: no event
    late = now + budget + timedelta(hours=2) + budget  # past the response time by more than the whole budget again
    events = run(runtime, late)
    assert [(e["action"], e["severity"]) for e in events] == [("updated", "critical")]

    # One request rejected (final): the count goes down; both gone: the alert is cleared.
    for rid in (first, second):
        response = desk.post(f"/api/v1/requests/{rid}/transitions", json={"status": "rejected", "note": "重复报告"})
        assert response.status_code == 200, response.json
        events = run(runtime, late)
        if rid == first:
            assert [(e["action"], e["title_en"]) for e in events] == [("updated", open_alerts(runtime)[0].title_en)]
            assert open_alerts(runtime)[0].detail["request_ids"] == [second]
    assert [(e["action"], e["state"]) for e in events] == [("cleared", "cleared")]
    assert open_alerts(runtime) == []
    with runtime.sessions() as session:
        actions = session.scalars(select(AlertChange.action).where(AlertChange.alert_id == alert.id)).all()
    assert actions == ["raised", "updated", "updated", "cleared"]


def test_communities_are_alerted_separately(app, runtime, desk):
    with transaction(runtime.sessions) as session:
        create_user(session, "clerk-other", Role.STAFF, PASSWORD, OTHER)
    submit(desk)
    submit(logged_in(app, "clerk-other"))
    events = run(runtime, datetime.now(UTC) + timedelta(hours=3))
    assert sorted(e["source_id"] for e in events) == [OTHER, HOME]
    assert {e["title_en"].split(": ")[1] for e in events} == {"1 overdue request"}
