"""A published Open311 client drives our server over real HTTP: the City of Chicago's ``chicagorequests``
(PyPI), which syncs a city's requests day by day with ``extensions=true``, ``start_date``/``end_date``
(microseconds and a UTC offset, as it sends them), ``page``/``page_size`` paging and JSON parsing.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.accounts.api_keys import create_key
from services.accounts.roles import Role
from services.db import transaction
from services.service_requests.catalogue import district_catalogue
from services.service_requests.store import Submission, submit
from tests.support.live_server import LiveServer

chicagorequests = pytest.importorskip("chicagorequests", reason="chicagorequests (dev extra) is not installed")

BEIJING = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def server(runtime):
    from services.app import create_app

    app = create_app(runtime.settings.replace(submission_rate_limit="1000/minute"))  # one client files them all
    with LiveServer(app) as live:
        yield live


def test_chicagorequests_downloads_every_request_of_the_day_page_by_page(server, runtime):
    import requests

    with transaction(runtime.sessions) as session:
        row, key = create_key(session, "chicago-client", Role.PUBLIC)
        actor = row.actor()
    filed = set()
    for n in range(3):  # a few over HTTP, as a resident's app files them
        form = {"api_key": key, "service_code": "EN-STREETLIGHT", "lat": "39.121", "long": "117.201",
                "description": f"路灯 {n} 不亮"}  # fmt: skip
        answer = requests.post(f"{server.url}/open311/v2/requests.json", data=form, timeout=10)
        assert answer.status_code == 200, answer.text
        filed.add(answer.json()[0]["service_request_id"])
    catalogue = district_catalogue(runtime.settings.district_file)
    light = catalogue.service("EN-STREETLIGHT")
    with transaction(runtime.sessions) as session:  # the rest through the store: more than one 200-request page
        for n in range(3, 230):
            submission = Submission(light, resident_name="", resident_phone="", description=f"路灯 {n} 不亮",
                                    lat=39.121, lon=117.201, channel="open311")  # fmt: skip
            filed.add(submit(session, catalogue, actor, submission, datetime.now(UTC)).public_id)

    downloader = chicagorequests.Downloader()
    downloader.BASE_URL = f"{server.url}/open311/v2/requests.json"
    downloader.session.retry_attempts = 0
    today = datetime.now(BEIJING).date()
    day = (datetime.combine(today, time.min, BEIJING), datetime.combine(today, time.max, BEIJING))
    got = downloader(day)

    assert {r["service_request_id"] for r in got} == filed and len(got) == len(filed)  # every page, no repeats
    first = got[0]
    assert first["status"] == "open" and first["service_code"] == "EN-STREETLIGHT"
    assert first["notes"][0]["type"] == "submitted" and first["extended_attributes"]["channel"] == "open311"
    assert downloader(tuple(d - timedelta(days=1) for d in day)) == []  # yesterday: nothing


def test_chicagorequests_syncs_changes_with_updated_after(server, runtime):
    import requests

    with transaction(runtime.sessions) as session:
        _, key = create_key(session, "sync-client", Role.PUBLIC)
    form = {"api_key": key, "service_code": "EN-STREETLIGHT", "address_string": "睦南道"}
    request_id = requests.post(f"{server.url}/open311/v2/requests.json", data=form, timeout=10).json()[0][
        "service_request_id"
    ]
    since = datetime.now(UTC) - timedelta(minutes=5)
    downloader = chicagorequests.Downloader(updated_start_date=since.isoformat(), updated_end_date=None)
    downloader.BASE_URL = f"{server.url}/open311/v2/requests.json"
    now = datetime.now(UTC)
    got = downloader((now - timedelta(days=1), now + timedelta(minutes=1)))
    assert [r["service_request_id"] for r in got] == [request_id]
