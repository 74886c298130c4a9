"""An Open311 POST while the database is unreachable: accepted with a token, stored once it is back.

The web app reaches PostgreSQL through a TCP proxy of the test's own (the machine's PostgreSQL is
never stopped); a real ``civic worker --burst`` process stores the queued submission afterwards.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy.engine import make_url

from services.accounts.api_keys import create_key
from services.accounts.roles import Role
from services.db import transaction
from services.service_requests.models import ServiceRequest
from tests.conftest import EMBEDDED
from tests.support.tcp_proxy import TcpProxy

pytestmark = pytest.mark.skipif(EMBEDDED, reason="needs PostgreSQL behind a TCP proxy")
V2 = "/open311/v2"
FORM = {"service_code": "EN-STREETLIGHT", "lat": "39.121", "long": "117.201", "description": "路灯不亮",
        "first_name": "桂兰", "phone": "138 0000 1234"}  # fmt: skip


@pytest.fixture
def proxied(runtime):
    """(client of an app whose database is behind the proxy, the proxy)."""
    from services.app import create_app

    url = make_url(runtime.settings.database_url)
    with TcpProxy(url.host, url.port or 5432) as proxy:
        behind = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        app = create_app(runtime.settings.replace(database_url=behind))
        yield app.test_client(), proxy
        with app.app_context():
            from services.extensions import runtime as app_runtime

            app_runtime().engine.dispose()


def test_a_submission_during_an_outage_gets_a_token_then_its_id(proxied, runtime, env):
    client, proxy = proxied
    with transaction(runtime.sessions) as session:
        _, key = create_key(session, "resident-app", Role.PUBLIC)
        _, never_used = create_key(session, "other-app", Role.PUBLIC)
    assert client.post(f"{V2}/requests.json", data=FORM | {"api_key": key}).status_code == 200  # known to Redis now

    proxy.cut()
    queued = client.post(f"{V2}/requests.json", data=FORM | {"api_key": key, "description": "停电时提交"})
    assert queued.status_code == 200, queued.data
    (answer,) = queued.json
    assert set(answer) == {"token", "service_notice"} and "service_request_id" not in answer  # the spec: one or other
    token = answer["token"]
    waiting = client.get(f"{V2}/tokens/{token}.xml")
    assert waiting.status_code == 200 and f"<token>{token}</token>" in waiting.get_data(as_text=True)
    assert client.post(f"{V2}/requests.json", data=FORM | {"api_key": never_used}).status_code == 403
    assert (
        client.post(f"{V2}/requests.json", data={"api_key": key, "service_code": "EN-STREETLIGHT"}).status_code == 400
    )

    proxy.restore()
    subprocess.run([sys.executable, "-m", "services.cli", "worker", "--burst"], env=env, check=True, timeout=120,
                   capture_output=True)  # fmt: skip
    subprocess.run([sys.executable, "-m", "services.cli", "worker", "--burst"], env=env, check=True, timeout=120,
                   capture_output=True)  # a second run (a retried job) must not store it twice  # fmt: skip
    (found,) = client.get(f"{V2}/tokens/{token}.json").json
    assert found["token"] == token and found["service_request_id"].startswith("HP-")
    with runtime.sessions() as session:
        stored = session.query(ServiceRequest).filter_by(token=token).one()
        assert (stored.description, stored.resident_phone, stored.channel) == ("停电时提交", "138 0000 1234", "open311")
        assert session.query(ServiceRequest).count() == 2
    assert client.get(f"{V2}/requests/{found['service_request_id']}.json").json[0]["description"] == "停电时提交"
