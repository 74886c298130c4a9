"""Open311 GeoReport v2 conformance, written from the spec (../shared/reference/open311-georeport-v2.md).

Every endpoint in both formats (XML is required, JSON optional): fields, list wrapping, the error body
and codes (400 / 403 / 404), attribute validation, privacy, paging, dates. Real app, PostgreSQL, Redis.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from services.accounts.api_keys import create_key, revoke_key
from services.accounts.roles import Role
from services.accounts.store import create_user
from services.db import transaction
from services.service_requests.catalogue import district_catalogue
from services.service_requests.models import ServiceRequest
from tests.support.accounts import PASSWORD, logged_in
from tests.support.open311 import errors, read

V2 = "/open311/v2"
FORMATS = ("xml", "json")
W3C = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$")
HOME = "wudadao-01"
STREETLIGHT = {"service_code": "EN-STREETLIGHT", "lat": "39.1210", "long": "117.2010", "description": "路灯不亮"}
CONTACT = {"first_name": "桂兰", "last_name": "张", "phone": "138 0000 1234", "email": "zhang@example.cn",
           "account_id": "wx-8812", "device_id": "phone-42"}  # fmt: skip
PRIVATE_SERVICE = "HS-PUBLIC-RENTAL"  # household income: never public


@pytest.fixture
def keys(runtime):
    with transaction(runtime.sessions) as session:
        _, public = create_key(session, "resident-app", Role.PUBLIC)
        _, centre = create_key(session, "wudadao-kiosk", Role.STAFF, HOME)
        _, revoked = create_key(session, "old-app", Role.PUBLIC)
        revoke_key(session, "old-app")
        create_user(session, "clerk", Role.STAFF, PASSWORD, HOME)
        create_user(session, "ops", Role.OPERATOR, PASSWORD)
    return {"public": public, "centre": centre, "revoked": revoked}


def post(client, key, fmt="json", **form):
    return client.post(f"{V2}/requests.{fmt}", data={"api_key": key} | form)


def created_id(response, fmt="json") -> str:
    assert response.status_code == 200, response.data
    body = read(response, fmt)
    assert len(body) == 1 and set(body[0]) == {"service_request_id", "service_notice"}, body
    return body[0]["service_request_id"]


# -- discovery, services, definitions ---------------------------------------------------------------------
@pytest.mark.parametrize("fmt", FORMATS)
def test_discovery(client, fmt):
    body = read(client.get(f"{V2}/discovery.{fmt}"), fmt)
    assert set(body) == {"changeset", "contact", "key_service", "endpoints"} and all(body.values())
    (endpoint,) = body["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2") and endpoint["type"] in ("production", "test")
    assert endpoint["formats"] == ["text/xml", "application/json"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_service_list(client, runtime, fmt):
    services = read(client.get(f"{V2}/services.{fmt}"), fmt)
    assert [s["service_code"] for s in services] == list(district_catalogue(runtime.settings.district_file).services)
    fields = {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
    assert all(set(s) == fields for s in services)
    by_code = {s["service_code"]: s for s in services}
    assert by_code["EN-GARBAGE"]["metadata"] == "true" and by_code["SS-PENSION-CERT"]["metadata"] == "false"
    streetlight = by_code["EN-STREETLIGHT"]
    assert (streetlight["service_name"], streetlight["type"], streetlight["group"]) == (
        "路灯故障报修", "realtime", "社区环境与城市管理",
    )  # fmt: skip
    assert "路灯" in streetlight["keywords"].split(",")
    assert "private" in by_code[PRIVATE_SERVICE]["keywords"].split(",")  # FixMyStreet's private-category flag
    english = read(client.get(f"{V2}/services.{fmt}", headers={"Accept-Language": "en-GB,en;q=0.8"}), fmt)
    assert {s["service_code"]: s["service_name"] for s in english}["EN-STREETLIGHT"] == "Street light fault"


def test_json_types_follow_the_community_schemas(client):
    """IDs are strings, booleans real booleans, coordinates numbers (the spec's own examples get this wrong)."""
    services = client.get(f"{V2}/services.json").json
    assert all(isinstance(s["service_code"], str) and isinstance(s["metadata"], bool) for s in services)
    definition = client.get(f"{V2}/services/EN-GARBAGE.json").json
    assert all(isinstance(a["required"], bool) and isinstance(a["order"], int) for a in definition["attributes"])


@pytest.mark.parametrize("fmt", FORMATS)
def test_service_definition(client, fmt):
    body = read(client.get(f"{V2}/services/EN-GARBAGE.{fmt}"), fmt)
    assert body["service_code"] == "EN-GARBAGE"
    (attribute,) = body["attributes"]  # wrapped in <attributes>, as the current spec says
    assert attribute["variable"] == "true" and attribute["datatype"] == "multivaluelist"
    assert {"code", "datatype", "required", "datatype_description", "order", "description"} <= set(attribute)
    assert all(set(v) == {"key", "name"} for v in attribute["values"]) and len(attribute["values"]) >= 2
    orders = [a["order"] for a in read(client.get(f"{V2}/services/SA-MINIMUM-LIVING.{fmt}"), fmt)["attributes"]]
    assert orders == sorted(orders, key=int) and len(set(orders)) == len(orders)


@pytest.mark.parametrize("fmt", FORMATS)
def test_not_found_errors_in_the_requested_format(client, fmt):
    for path in (f"services/NOPE.{fmt}", f"requests/HP-2026-000999-AAAA.{fmt}", f"tokens/abc.{fmt}", f"x.{fmt}"):
        response = client.get(f"{V2}/{path}")
        assert response.status_code == 404, path
        assert errors(response, fmt)[0]["code"] == "404"
    wrong_method = client.delete(f"{V2}/services.{fmt}")
    assert wrong_method.status_code == 405 and errors(wrong_method, fmt)


def test_an_unknown_format_is_answered_in_xml_the_required_one(client):
    response = client.get(f"{V2}/services.html")
    assert response.status_code == 404 and "html" in errors(response, "xml")[0]["description"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_jurisdiction(client, runtime, fmt):
    ours = runtime.settings.open311_jurisdiction
    assert client.get(f"{V2}/services.{fmt}?jurisdiction_id={ours}").status_code == 200
    assert client.get(f"{V2}/services.{fmt}?jurisdiction_id=").status_code == 200  # empty = not given
    other = client.get(f"{V2}/services.{fmt}?jurisdiction_id=sfgov.org")
    assert other.status_code == 404 and "sfgov.org" in errors(other, fmt)[0]["description"]


# -- POST -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", FORMATS)
def test_post_needs_a_live_api_key(client, keys, fmt):
    for key in (None, "", "cp_not-a-key", keys["revoked"]):
        response = client.post(f"{V2}/requests.{fmt}", data=STREETLIGHT | ({"api_key": key} if key is not None else {}))
        assert response.status_code == 403
        assert "api_key" in errors(response, fmt)[0]["description"]
    assert post(client, keys["public"], fmt, **STREETLIGHT).status_code == 200
    in_url = client.post(f"{V2}/requests.{fmt}?api_key={keys['public']}", data=STREETLIGHT)
    assert in_url.status_code == 403  # a key in the URL would end up in access logs: the body only


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_creates_a_request(client, keys, runtime, fmt):
    request_id = created_id(post(client, keys["public"], fmt, **STREETLIGHT, **CONTACT), fmt)
    assert re.match(r"^HP-\d{4}-\d{6}-[0-9A-Z]{4}$", request_id)
    (shown,) = read(client.get(f"{V2}/requests/{request_id}.{fmt}"), fmt)  # a list of one, as the spec says
    assert shown["status"] == "open" and shown["service_code"] == "EN-STREETLIGHT"
    assert shown["description"] == "路灯不亮" and shown["lat"] == "39.121" and shown["long"] == "117.201"
    assert all(W3C.match(shown[k]) for k in ("requested_datetime", "updated_datetime", "expected_datetime"))
    with runtime.sessions() as session:
        stored = session.query(ServiceRequest).filter_by(public_id=request_id).one()
        assert (stored.channel, stored.resident_name, stored.resident_phone) == ("open311", "桂兰 张", "138 0000 1234")
        assert (stored.client_account_id, stored.client_device_id) == ("wx-8812", "phone-42")
        assert stored.community_id is None  # a public app's request waits for the city to route it


def test_a_staff_key_files_for_its_own_community_and_address_id_routes(client, keys, runtime):
    by_centre = created_id(post(client, keys["centre"], **STREETLIGHT))
    by_address = created_id(post(client, keys["public"], service_code="EN-NOISE", address_id="nanshi-01",
                                      **{"attribute[observed_at]": "2026-11-26T21:30:00+08:00"}))  # fmt: skip
    with runtime.sessions() as session:
        found = dict(session.query(ServiceRequest.public_id, ServiceRequest.community_id))
    assert found == {by_centre: HOME, by_address: "nanshi-01"}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("form", "status", "says"),
    [
        ({"lat": "39.12", "long": "117.2"}, 400, "service_code is required"),
        ({"service_code": "NOPE", "lat": "39.12", "long": "117.2"}, 404, "NOPE"),
        ({"service_code": "EN-STREETLIGHT"}, 400, "location is required"),
        ({"service_code": "EN-STREETLIGHT", "lat": "39.12"}, 400, "lat and long go together"),
        ({"service_code": "EN-STREETLIGHT", "lat": "91", "long": "117.2"}, 400, "lat must be"),
        ({"service_code": "EN-STREETLIGHT", "lat": "NaN", "long": "117.2"}, 400, "lat must be"),
        ({"service_code": "EN-STREETLIGHT", "lat": "31.23", "long": "121.47"}, 400, "outside Heping"),
        ({"service_code": "EN-STREETLIGHT", "address_string": "x", "description": "长" * 4001}, 400, "4000"),
        ({"service_code": "EN-STREETLIGHT", "address_string": "x", "phone": "call me"}, 400, "phone"),
        ({"service_code": "EN-STREETLIGHT", "address_string": "x", "email": "nope"}, 400, "email"),
    ],
)
def test_post_is_refused_with_the_reason(client, keys, fmt, form, status, says):
    response = post(client, keys["public"], fmt, **form)
    assert response.status_code == status
    assert says in errors(response, fmt)[0]["description"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_attributes_are_checked_against_the_definition(client, keys, runtime, fmt):
    where = {"address_string": "和平路 1 号"}
    missing = post(client, keys["public"], fmt, service_code="SS-MEDICAL-ENROL", **where)  # insured_count required
    assert missing.status_code == 400 and "attribute[insured_count]: is required" in str(errors(missing, fmt))
    several = post(client, keys["public"], fmt, service_code="SS-MEDICAL-ENROL", **where,
                   **{"attribute[insured_count]": "many", "attribute[bogus]": "1"})  # fmt: skip
    described = [e["description"] for e in errors(several, fmt)]  # every problem at once, not just the first
    assert any("insured_count" in d for d in described) and any("bogus" in d for d in described)
    bad_key = post(client, keys["public"], fmt, service_code="EN-GARBAGE", **where,
                   **{"attribute[waste_kind][]": ["bulky", "plutonium"]})  # fmt: skip
    assert bad_key.status_code == 400 and "must be one of" in errors(bad_key, fmt)[0]["description"]
    listed = post(client, keys["public"], fmt, service_code="EN-GARBAGE", **where,
                  **{"attribute[waste_kind][]": ["bulky", "household"]})  # fmt: skip
    request_id = created_id(listed, fmt)
    with runtime.sessions() as session:
        stored = session.query(ServiceRequest).filter_by(public_id=request_id).one()
        assert stored.attributes == {"waste_kind": ["bulky", "household"]}


def test_a_multivaluelist_answer_with_one_value_is_still_a_list(client, keys, runtime):
    request_id = created_id(post(client, keys["public"], service_code="EN-GARBAGE", address_string="x",
                                 **{"attribute[waste_kind][]": "bulky"}))  # fmt: skip
    with runtime.sessions() as session:
        assert session.query(ServiceRequest.attributes).filter_by(public_id=request_id).scalar() == {
            "waste_kind": ["bulky"]
        }


def test_operators_route_an_unrouted_request_to_a_centre(app, client, keys):
    request_id = created_id(post(client, keys["public"], **STREETLIGHT))
    clerk, ops = logged_in(app, "clerk"), logged_in(app, "ops")
    assert clerk.get(f"/api/v1/requests/{request_id}").status_code == 404  # not the centre's yet
    assert clerk.post(f"/api/v1/requests/{request_id}/route", json={"community_id": HOME}).status_code == 403
    unknown = ops.post(f"/api/v1/requests/{request_id}/route", json={"community_id": "atlantis-01"})
    assert unknown.status_code == 422
    routed = ops.post(f"/api/v1/requests/{request_id}/route", json={"community_id": HOME, "note": "就近办理"})
    assert routed.status_code == 200 and routed.json["community_id"] == HOME
    assert clerk.get(f"/api/v1/requests/{request_id}").status_code == 200
    assert request_id in [r["service_request_id"] for r in clerk.get("/api/v1/requests").json["items"]]
    (entry,) = [e for e in clerk.get(f"/api/v1/requests/{request_id}/history").json if e["action"] == "routed"]
    assert entry["note"] == f"- → {HOME}: 就近办理" and entry["actor_name"] == "ops"
    public = client.get(f"/api/v1/requests/lookup/{request_id}").json
    assert [step["status"] for step in public["history"]] == ["submitted"]  # routing is internal


def test_operators_route_from_the_request_page(app, client, keys):
    request_id = created_id(post(client, keys["public"], **STREETLIGHT))
    ops, clerk = logged_in(app, "ops"), logged_in(app, "clerk")
    page = ops.get(f"/desk/requests/{request_id}").get_data(as_text=True)
    assert 'id="route-form"' in page and "尚未分派社区" in page and "睦南道社区" in page  # HOME's name, zh
    assert 'id="route-form"' not in clerk.get("/desk").get_data(as_text=True)
    form = {"csrf_token": ops.environ_base["HTTP_X_CSRFTOKEN"], "community_id": HOME, "route_note": "就近"}
    sent = ops.post(f"/desk/requests/{request_id}/route", data=form)
    assert sent.status_code == 302
    shown = clerk.get(f"/desk/requests/{request_id}").get_data(as_text=True)
    assert "已转派社区" in shown and 'id="route-form"' not in shown  # staff see the step, not the form
    own_token = {"csrf_token": clerk.environ_base["HTTP_X_CSRFTOKEN"]}
    assert clerk.post(f"/desk/requests/{request_id}/route", data=form | own_token).status_code == 403


# -- media ------------------------------------------------------------------------------------------------
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_multipart_photos_come_back_as_media_url(client, keys):
    from io import BytesIO

    form = {"api_key": keys["public"], **STREETLIGHT, "media": (BytesIO(PNG), "lamp.png", "image/png"),
            "media_url": "https://example.cn/ignored.jpg"}  # fmt: skip
    request_id = created_id(client.post(f"{V2}/requests.json", data=form, content_type="multipart/form-data"))
    (shown,) = client.get(f"{V2}/requests/{request_id}.json").json
    assert "/open311/v2/media/" in shown["media_url"]  # the files win over media_url (v2.1 draft)
    photo = client.get(shown["media_url"].split("localhost", 1)[1])
    assert photo.status_code == 200 and photo.data == PNG and photo.mimetype == "image/png"
    fake = {"api_key": keys["public"], **STREETLIGHT, "media": (BytesIO(b"<script>"), "x.png", "image/png")}
    refused = client.post(f"{V2}/requests.json", data=fake, content_type="multipart/form-data")
    assert refused.status_code == 400 and "JPEG, PNG" in refused.json[0]["description"]


def test_media_url_is_kept_when_no_file_is_sent(client, keys):
    request_id = created_id(post(client, keys["public"], **STREETLIGHT, media_url="https://example.cn/lamp.jpg"))
    assert client.get(f"{V2}/requests/{request_id}.json").json[0]["media_url"] == "https://example.cn/lamp.jpg"
    bad = post(client, keys["public"], **STREETLIGHT, media_url="javascript:alert(1)")
    assert bad.status_code == 400


def test_a_private_services_photo_is_only_for_its_community(app, client, keys):
    from io import BytesIO

    form = {"api_key": keys["centre"], "service_code": PRIVATE_SERVICE, "address_string": "x",
            "media": (BytesIO(PNG), "payslip.png", "image/png")}  # fmt: skip
    request_id = created_id(client.post(f"{V2}/requests.json", data=form, content_type="multipart/form-data"))
    (shown,) = client.get(f"{V2}/requests/{request_id}.json?extensions=true").json
    assert shown["media_url"] is None and shown["extended_attributes"]["media_urls"] == []
    with app.app_context():
        from services.extensions import runtime as rt

        name = next(iter(__import__("os").listdir(rt().settings.data_dir / "media")))
    assert name.startswith("p-")
    assert client.get(f"{V2}/media/{name}").status_code == 404
    assert logged_in(app, "clerk").get(f"{V2}/media/{name}").status_code == 200


# -- GET requests: privacy, filters, dates, paging -----------------------------------------------------------
@pytest.mark.parametrize("fmt", FORMATS)
def test_no_contact_field_and_no_private_text_in_public_output(client, keys, fmt):
    public_id = created_id(post(client, keys["centre"], **STREETLIGHT, **CONTACT))
    private_id = created_id(post(client, keys["centre"], service_code=PRIVATE_SERVICE, address_string="南市 3 号 501",
                                 description="月收入 1800 元", **CONTACT))  # fmt: skip
    home = created_id(post(client, keys["centre"], service_code="HS-OLD-BUILDING-REPAIR", lat="39.12", long="117.2",
                           address_string="睦南道 8 号 2-301", **{"attribute[defect]": "roof_leak"}))  # fmt: skip
    for path in (f"requests.{fmt}", f"requests.{fmt}?extensions=true", f"servicerequestupdates.{fmt}"):
        text = client.get(f"{V2}/{path}").get_data(as_text=True)
        for secret in (
            "桂兰",
            "138 0000 1234",
            "zhang@example.cn",
            "wx-8812",
            "phone-42",
            "月收入",
            "南市 3 号",
            "2-301",
        ):
            assert secret not in text, (path, secret)
    shown = {r["service_request_id"]: r for r in read(client.get(f"{V2}/requests.{fmt}"), fmt)}
    assert shown[public_id]["lat"] == "39.121"  # a street light's place is public
    assert shown[private_id]["description"] is None and shown[private_id]["lat"] is None
    assert shown[home]["address"] is None and shown[home]["lat"] is None  # a home is not shown on a map


@pytest.fixture
def aged(client, keys, runtime):
    """Three requests: requested now, 30 days ago and 100 days ago (closed)."""
    ids = [created_id(post(client, keys["centre"], **STREETLIGHT)) for _ in range(3)]
    now = datetime.now(UTC)
    with transaction(runtime.sessions) as session:
        for public_id, age, status in zip(ids, (0, 30, 100), ("submitted", "in_progress", "closed"), strict=True):
            session.execute(
                update(ServiceRequest)
                .where(ServiceRequest.public_id == public_id)
                .values(requested_at=now - timedelta(days=age), updated_at=now - timedelta(days=age), status=status)
            )
    return dict(zip(("new", "month", "old"), ids, strict=True))


def listed(client, fmt, query="") -> list[str]:
    response = client.get(f"{V2}/requests.{fmt}{query}")
    assert response.status_code == 200, response.data
    return [r["service_request_id"] for r in read(response, fmt)]


@pytest.mark.parametrize("fmt", FORMATS)
def test_default_window_is_the_last_90_days_newest_first(client, aged, fmt):
    assert listed(client, fmt) == [aged["new"], aged["month"]]


@pytest.mark.parametrize("fmt", FORMATS)
def test_dates_are_read_leniently(client, aged, fmt):
    day = datetime.now(UTC) - timedelta(days=101)
    for start in (day.strftime("%Y-%m-%dT%H:%M:%SZ"), day.isoformat(), day.strftime("%Y-%m-%d")):
        end = (day + timedelta(days=5)).isoformat()
        assert listed(client, fmt, f"?start_date={start.replace('+', '%2B')}&end_date={end.replace('+', '%2B')}") == [
            aged["old"]
        ], start


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("?start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z", "90 days"),
        ("?start_date=2026-06-01T00:00:00Z&end_date=2026-05-01T00:00:00Z", "before"),
        ("?start_date=yesterday", "start_date"),
        ("?status=pending", "status"),
        ("?page=0", "page"),
        ("?page_size=5000", "page_size"),
    ],
)
def test_bad_filters_are_400(client, fmt, query, says):
    response = client.get(f"{V2}/requests.{fmt}{query}")
    assert response.status_code == 400 and says in errors(response, fmt)[0]["description"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_unknown_service_code_filter_is_404_not_everything(client, aged, fmt):
    response = client.get(f"{V2}/requests.{fmt}?service_code=EN-STREETLIGHT,NOPE")
    assert response.status_code == 404 and "NOPE" in errors(response, fmt)[0]["description"]
    assert listed(client, fmt, "?service_code=EN-NOISE") == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_status_and_id_filters(client, aged, fmt):
    assert listed(client, fmt, "?status=open") == [aged["new"], aged["month"]]
    assert listed(client, fmt, "?status=closed") == []  # the closed one is older than 90 days
    assert listed(client, fmt, "?status=closed&start_date=" + (datetime.now(UTC) - timedelta(days=120)).strftime(
        "%Y-%m-%dT%H:%M:%SZ")) == [aged["old"]]  # fmt: skip
    # service_request_id overrides every other filter, the 90-day window included
    both = listed(
        client, fmt, f"?service_request_id={aged['old']},{aged['new'].lower()}&status=open&service_code=EN-NOISE"
    )
    assert sorted(both) == sorted([aged["old"], aged["new"]])


@pytest.mark.parametrize("fmt", FORMATS)
def test_paging_and_updated_after(client, aged, fmt):
    assert listed(client, fmt, "?page_size=1") == [aged["new"]]
    assert listed(client, fmt, "?page_size=1&page=2") == [aged["month"]]
    assert listed(client, fmt, "?page_size=1&page=3") == []
    since = (datetime.now(UTC) - timedelta(days=200)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert listed(client, fmt, f"?updated_after={since}") == [aged["new"], aged["month"], aged["old"]]
    recent = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert listed(client, fmt, f"?updated_after={recent}") == [aged["new"]]


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_two_formats_carry_the_same_data(client, keys, fmt):
    created_id(post(client, keys["centre"], service_code="EN-GARBAGE", address_string="x",
                    **{"attribute[waste_kind][]": ["bulky"]}))  # fmt: skip
    for path in ("discovery", "services", "services/EN-GARBAGE", "requests", "servicerequestupdates"):
        as_xml = read(client.get(f"{V2}/{path}.xml?extensions=true"), "xml")
        as_json = read(client.get(f"{V2}/{path}.json?extensions=true"), "json")
        assert as_xml == as_json, path


# -- lifecycle: status notes, extensions, updates ------------------------------------------------------------
@pytest.mark.parametrize("fmt", FORMATS)
def test_status_notes_extensions_and_updates(app, client, keys, fmt):
    request_id = created_id(post(client, keys["centre"], **STREETLIGHT))
    clerk = logged_in(app, "clerk")
    for change in ({"status": "accepted"}, {"status": "in_progress"}, {"status": "resolved"}):
        assert clerk.post(f"/api/v1/requests/{request_id}/transitions", json=change).status_code == 200
    (shown,) = read(client.get(f"{V2}/requests/{request_id}.{fmt}?extensions=true"), fmt)
    assert shown["status"] == "closed" and shown["status_notes"] == "已办结"
    assert shown["expected_datetime"] is None  # the resolution clock stopped
    assert shown["extended_attributes"] | {"priority": ""} == {
        "channel": "open311", "community_id": HOME, "status": "resolved", "priority": "", "duplicate_of": None,
        "media_urls": [],
    }  # fmt: skip
    assert [n["type"] for n in shown["notes"]] == ["submitted", "investigating", "in_progress", "fixed"]
    english = client.get(f"{V2}/requests/{request_id}.{fmt}?locale=en")
    assert read(english, fmt)[0]["status_notes"] == "Done"
    updates = read(client.get(f"{V2}/servicerequestupdates.{fmt}"), fmt)
    mine = [u for u in updates if u["service_request_id"] == request_id]
    assert [u["status"] for u in mine] == ["open", "investigating", "in_progress", "fixed"]
    assert [u["external_status_code"] for u in mine] == ["submitted", "accepted", "in_progress", "resolved"]
    assert len({u["update_id"] for u in mine}) == 4 and all(W3C.match(u["updated_datetime"]) for u in mine)
    later = (datetime.now(UTC) + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert read(client.get(f"{V2}/servicerequestupdates.{fmt}?start_date={later}"), fmt) == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_hostile_text_is_stored_as_text_and_the_xml_stays_parseable(client, keys, runtime, fmt):
    control = post(client, keys["public"], fmt, **(STREETLIGHT | {"description": "灯坏\x07\x1b[2J"}))
    assert control.status_code == 400 and "control characters" in errors(control, fmt)[0]["description"]
    nul = post(client, keys["public"], fmt, **(STREETLIGHT | {"description": "灯\x00坏"}))
    assert nul.status_code == 400 and "NUL" in errors(nul, fmt)[0]["description"]
    nasty = "<script>alert(1)</script>'; DROP TABLE service_requests; --\ufffe\U0001f6a8 路灯"
    request_id = created_id(post(client, keys["public"], **(STREETLIGHT | {"description": nasty})))
    (shown,) = read(client.get(f"{V2}/requests/{request_id}.{fmt}"), fmt)
    assert "<script>alert(1)</script>'; DROP TABLE" in shown["description"]
    with runtime.sessions() as session:
        assert session.query(ServiceRequest).count() == 1


def test_post_is_rate_limited_per_address_in_the_open311_error_shape(runtime, keys):
    from services.app import create_app

    limited = create_app(runtime.settings.replace(submission_rate_limit="2/minute")).test_client()
    runtime.redis.flushdb()  # counts of other tests
    answers = [post(limited, keys["public"], "xml", **STREETLIGHT).status_code for _ in range(3)]
    assert answers == [200, 200, 429]
    too_many = post(limited, keys["public"], "xml", **STREETLIGHT)
    assert too_many.status_code == 429 and "too many" in errors(too_many, "xml")[0]["description"]
    assert limited.get(f"{V2}/services.json").status_code == 200  # reads are not limited


def test_apikey_cli_prints_the_key_on_its_last_line(env):
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "services.cli", "apikey", "create", "kiosk", "--role", "staff", "--community", HOME],
        env=env, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert re.match(r"^cp_[A-Za-z0-9_-]{40,}$", out.stdout.strip().splitlines()[-1])
    refused = subprocess.run([sys.executable, "-m", "services.cli", "apikey", "create", "x", "--role", "staff"],
                             env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert refused.returncode != 0 and "community" in refused.stderr


def test_extensions_read_a_whole_page_in_a_constant_number_of_queries(app, client, keys):
    """A page of up to 1,000 requests with extensions=true: histories and originals are fetched per page."""
    from sqlalchemy import event

    def page_queries(count: int) -> tuple[int, list[dict]]:
        statements = []
        engine = app.extensions["civic"].engine
        listener = lambda *args: statements.append(args[2])  # noqa: E731 (conn, cursor, statement, ...)
        event.listen(engine, "before_cursor_execute", listener)
        try:
            shown = read(client.get(f"{V2}/requests.json?extensions=true&page_size={count}"), "json")
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(statements), shown

    ids = [created_id(post(client, keys["centre"], **STREETLIGHT)) for _ in range(6)]
    clerk = logged_in(app, "clerk")
    body = {"status": "duplicate", "note": "同一路灯", "duplicate_of": ids[0]}
    assert clerk.post(f"/api/v1/requests/{ids[-1]}/transitions", json=body).status_code == 200  # on both pages
    few, shown_few = page_queries(2)
    many, shown = page_queries(6)
    assert len(shown_few) == 2 and len(shown) == 6
    assert many == few, f"{few} queries for 2 requests, {many} for 6: one query per request again"
    by_id = {r["service_request_id"]: r for r in shown}
    assert by_id[ids[-1]]["extended_attributes"]["duplicate_of"] == ids[0]
    assert [n["type"] for n in by_id[ids[-1]]["notes"]] == ["submitted", "duplicate"]
