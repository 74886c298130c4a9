"""Service requests at /ngsi-ld/v1/entities?type=service_requests: valid Smart Data Models, public fields only."""

import json
import subprocess
import sys
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from services.accounts.roles import Role
from services.accounts.store import create_user
from services.db import transaction
from services.ngsi import CONTEXT
from services.service_requests.catalogue import district_catalogue
from services.service_requests.ngsi import request_entity
from tests.support.accounts import PASSWORD, logged_in
from tests.support.services import ROOT, SHARED

VALIDATOR = SHARED / "tools" / "validate_sdm.py"
HOME = "wudadao-01"
CONTACT = {"resident_name": "张桂兰", "resident_phone": "138 0000 1234", "resident_email": "zhang@example.cn"}
STREETLIGHT = {  # a public service: where and what may be shown
    "service_code": "EN-STREETLIGHT",
    "description": "路灯不亮，晚上很黑",
    "address": "睦南道 20 号",
    "lat": 39.1183,
    "lon": 117.1905,
    "attributes": {"pole_number": "MND-0423"},
}
RENTAL = {  # a private service (household income, family): nothing but service, status, dates, agency
    "service_code": "HS-PUBLIC-RENTAL",
    "description": "三口之家，月收入两千元",
    "address": "成都道 88 号 3 门 502",
    "lat": 39.1211,
    "lon": 117.1987,
}
PRIVATE_KEYS = {
    "@context", "id", "type", "service_request_id", "service_code", "service_name", "status", "status_notes",
    "agency_responsible", "requested_datetime", "updated_datetime", "expected_datetime", "dataProvider",
}  # fmt: skip


@pytest.fixture
def clerk(app, runtime):
    with transaction(runtime.sessions) as session:
        create_user(session, "clerk", Role.STAFF, PASSWORD, HOME)
    return logged_in(app, "clerk")


def submit(staff, body: dict) -> str:
    response = staff.post("/api/v1/requests", json=body | CONTACT)
    assert response.status_code == 201, response.json
    return response.json["service_request_id"]


def entities(client, query: str = "") -> list[dict]:
    response = client.get(f"/ngsi-ld/v1/entities?type=service_requests{query}")
    assert response.status_code == 200, response.json
    return response.json


def test_requests_are_served_as_valid_entities_without_personal_data(clerk, client, tmp_path):
    if not VALIDATOR.exists():
        pytest.skip(f"the shared standards folder is absent ({VALIDATOR} not found): cannot validate NGSI-LD output")
    public_id, private_id = submit(clerk, STREETLIGHT), submit(clerk, RENTAL)
    for change in (
        {"status": "accepted", "note": "张桂兰女士家门口"},
        {"status": "assigned", "assignee": "路灯所王师傅"},
        {"status": "in_progress"},
        {"status": "resolved", "note": "已更换灯泡"},
    ):
        assert clerk.post(f"/api/v1/requests/{public_id}/transitions", json=change).status_code == 200

    found = entities(client)  # anyone, not logged in
    assert [e["id"] for e in found] == [f"urn:ngsi-ld:service_requests:{rid}" for rid in (public_id, private_id)]
    street, rental = found
    assert all(e["@context"] == CONTEXT and e["type"] == "service_requests" for e in found)

    assert street["service_request_id"] == public_id and street["service_name"] == "路灯故障报修"
    assert (street["status"], street["status_notes"]) == ("closed", "resolved")
    assert "expected_datetime" not in street  # the resolution clock is paused while resolved
    assert street["description"] == STREETLIGHT["description"]
    assert street["address_string"] == STREETLIGHT["address"] and street["areaServed"] == HOME
    assert street["location"] == {"type": "Point", "coordinates": [STREETLIGHT["lon"], STREETLIGHT["lat"]]}

    assert set(rental) == PRIVATE_KEYS
    assert rental["service_name"] == "公共租赁住房申请"
    assert (rental["status"], rental["status_notes"]) == ("open", "submitted")
    assert rental["agency_responsible"] == "和平区住房和建设委员会"
    assert rental["requested_datetime"].endswith("Z") and rental["expected_datetime"] > rental["requested_datetime"]

    text = json.dumps(found, ensure_ascii=False)
    staff_only = ("clerk", "路灯所王师傅", "张桂兰女士家门口", "已更换灯泡", "MND-0423", "pole_number")
    private_text = (RENTAL["description"], RENTAL["address"], str(RENTAL["lat"]), str(RENTAL["lon"]))
    for hidden in (*CONTACT.values(), *staff_only, *private_text):
        assert hidden not in text
    for key in ("email", "phone", "first_name", "last_name", "account_id", "device_id", "attributes", "assignee"):
        assert not any(key in e for e in found)

    assert [e["id"] for e in entities(client, "&limit=1&offset=1")] == [rental["id"]]
    path = tmp_path / "service_requests.json"
    path.write_text(json.dumps(found, ensure_ascii=False))
    result = subprocess.run([sys.executable, str(VALIDATOR), str(path)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert result.stdout.strip().endswith("0 invalid")


def test_a_service_made_private_later_hides_its_older_requests_too():
    service = district_catalogue(ROOT / "config/district/heping.yaml").service("HS-PUBLIC-RENTAL")
    logged_at = datetime(2026, 3, 1, 1, 2, 3, tzinfo=UTC)
    logged_while_public = SimpleNamespace(
        public_id="HP-2026-000001-7KQX", service_code=service.code, private=False, status="accepted",
        description=RENTAL["description"], address=RENTAL["address"], lat=RENTAL["lat"], lon=RENTAL["lon"],
        community_id=HOME, agency_responsible=service.agency_zh, requested_at=logged_at, updated_at=logged_at,
        resolution_due_at=None,
    )  # fmt: skip
    entity = request_entity(logged_while_public, service)
    assert entity["requested_datetime"] == "2026-03-01T01:02:03Z" and entity["status"] == "open"
    assert not {"description", "address_string", "location", "areaServed"} & set(entity)
