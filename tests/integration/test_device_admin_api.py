"""Devices provisioned and revoked through the admin API, on a real Mosquitto run the way compose runs it.

The broker is config/mosquitto/mosquitto.conf (listener, data dir and credential-file paths moved to a
temporary directory by tests/support/services.py) under config/mosquitto/run.sh. The app writes the passwd
and ACL files from the database into MOSQUITTO_AUTH_DIR and has no MOSQUITTO_PID_FILE: as in
docker-compose.yml, where the web container shares only the credential volume with the broker, run.sh's
watch (every 5 s) is what reloads the broker. No test here writes those files or signals the broker itself.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from config.settings import MqttTarget
from services.accounts.roles import Role
from services.accounts.store import create_user
from services.db import transaction
from services.devices.broker_auth import Role as BrokerRole
from services.devices.models import Device
from services.devices.provisioning import set_service_account
from services.parking.models import Berth
from tests.support.accounts import PASSWORD, logged_in
from tests.support.mqtt_probe import Connection, Listener, admitted
from tests.support.services import ROOT, TEST_PASSWORDS, Mosquitto, wait_for

RELOAD_WAIT = 20  # run.sh looks every 5 s; the broker then reloads within a second


@pytest.fixture
def broker():
    broker = Mosquitto().start(via_run_sh=True)
    yield broker
    broker.cleanup()


@pytest.fixture
def env(env, broker):
    """The app writes the broker's credential files where run.sh watches them, and signals nothing itself."""
    return env | {"MOSQUITTO_AUTH_DIR": str(broker.dir / "auth"), "MOSQUITTO_PID_FILE": ""}


@pytest.fixture
def people(runtime):
    """An admin, an operator and a staff member; the bridge's broker account, as `migrate` makes it."""
    with transaction(runtime.sessions) as session:
        create_user(session, "clerk", Role.STAFF, PASSWORD, "wudadao-01")
        create_user(session, "ops", Role.OPERATOR, PASSWORD)
        create_user(session, "boss", Role.ADMIN, PASSWORD)
        set_service_account(session, "civic-bridge", BrokerRole.BRIDGE, TEST_PASSWORDS["civic-bridge"])


@pytest.fixture
def listener(broker):
    listener = Listener(target(broker, "civic-bridge", TEST_PASSWORDS["civic-bridge"]))
    yield listener
    listener.close()


@pytest.fixture
def admin(app, people):
    return logged_in(app, "boss")


def target(broker, username: str, password: str) -> MqttTarget:
    return MqttTarget("127.0.0.1", broker.port, username, password)


def unwatched_berths(runtime, count: int) -> list[str]:
    with runtime.sessions() as session:
        query = select(Berth.id).where(Berth.device_id.is_(None)).order_by(Berth.id).limit(count)
        return list(session.scalars(query))


def provision(admin, broker, berth_id: str) -> dict:
    """Provision a berth's sensor as an admin; wait until the broker (reloaded by run.sh) lets it in."""
    response = admin.post("/api/v1/devices", json={"berth_id": berth_id})
    assert response.status_code == 201, response.json
    device, mqtt = response.json["device"], response.json["mqtt"]
    topics = {
        "reading": f"heping/parking/{device['facility_id']}/{berth_id}/state",
        "status": f"heping/devices/{device['id']}/status",
    }
    assert topics["reading"].startswith(mqtt["topic_prefix"] + "/")
    credentials = target(broker, mqtt["username"], mqtt["password"])
    wait_for(lambda: admitted(credentials), RELOAD_WAIT, interval=0.5, message=f"the broker to admit {device['id']}")
    return {"id": device["id"], "target": credentials, **topics}


def reading(marker: str) -> bytes:
    return json.dumps({"boot": 1, "seq": 1, "ts": "2025-01-01T00:00:00+00:00", "occupied": True, "m": marker}).encode()


def broker_pid(run_sh: int) -> int:
    """The mosquitto process run.sh started (its child), found in /proc."""
    for proc in Path("/proc").iterdir():
        with contextlib.suppress(OSError, ValueError, IndexError):
            ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if ppid == run_sh and (proc / "comm").read_text().strip() == "mosquitto":
                return int(proc.name)
    pytest.fail(f"no mosquitto process under run.sh (pid {run_sh})")


def test_only_admins_provision_and_the_device_publishes_to_its_own_topics(app, runtime, people, broker, listener):
    berth = unwatched_berths(runtime, 1)[0]
    for username in ("clerk", "ops"):
        refused = logged_in(app, username).post("/api/v1/devices", json={"berth_id": berth})
        assert refused.status_code == 403, username
    with runtime.sessions() as session:
        assert session.scalar(select(Device).where(Device.berth_id == berth)) is None

    device = provision(logged_in(app, "boss"), broker, berth)
    connection = Connection(device["target"])
    assert connection.accepted
    assert connection.publish(device["reading"], reading("own reading"))
    assert connection.publish(device["status"], b"online")
    wait_for(lambda: len(listener.messages) == 2, 10, message="the device's two messages at the bridge's listener")
    assert listener.payloads(device["reading"]) == [reading("own reading")]
    assert listener.payloads(device["status"]) == [b"online"]
    connection.close()
    assert "credentials changed, broker reloaded" in (broker.dir / "mosquitto.log").read_text()


def test_a_device_cannot_publish_as_another_nor_log_in_with_its_name(admin, runtime, broker, listener):
    mine, theirs = (provision(admin, broker, berth) for berth in unwatched_berths(runtime, 2))

    impostor = Connection(mine["target"])
    assert impostor.accepted
    # Observed with Mosquitto 2.0.11: a forbidden publish (QoS 1 or 0) closes the client's connection (paho
    # reconnects for the next try). Another broker may drop the message silently; either way it must not arrive.
    for topic in (theirs["reading"], theirs["status"]):
        impostor.publish(topic, reading("forged"))
    impostor.close()
    # The rightful device then publishes on the same topics: once its messages are in, the forged ones
    # (sent and acknowledged before) would have been delivered ahead of them.
    rightful = Connection(theirs["target"])
    assert rightful.publish(theirs["reading"], reading("genuine")) and rightful.publish(theirs["status"], b"online")
    wait_for(lambda: len(listener.messages) >= 2, 10, message="the rightful device's messages")
    rightful.close()
    assert listener.payloads(theirs["reading"]) == [reading("genuine")]
    assert listener.payloads(theirs["status"]) == [b"online"]
    assert listener.payloads(mine["reading"]) == []

    # Another device's name with one's own password: refused at CONNECT, both ways round.
    for name, password in ((theirs, mine), (mine, theirs)):
        borrowed = MqttTarget("127.0.0.1", broker.port, name["target"].username, password["target"].password)
        assert not admitted(borrowed), name["id"]


def test_revocation_through_the_admin_api_needs_no_broker_restart(admin, runtime, broker, listener):
    revoked, other = (provision(admin, broker, berth) for berth in unwatched_berths(runtime, 2))
    pid = broker_pid(broker.proc.pid)
    still_connected = Connection(revoked["target"])  # stays connected across the revocation
    assert still_connected.publish(revoked["reading"], reading("before"))
    wait_for(lambda: listener.payloads(revoked["reading"]), 10, message="the message before revocation")

    response = admin.post(f"/api/v1/devices/{revoked['id']}/revoke")
    assert response.status_code == 200 and response.json["active"] is False
    wait_for(lambda: not admitted(revoked["target"]), RELOAD_WAIT, interval=0.5, message="the revoked device refused")

    # Observed with Mosquitto 2.0.11: the reload also closes the revoked device's open connection (the broker
    # re-checks connected clients against the new password file); paho's reconnects are then refused.
    wait_for(still_connected.dropped.is_set, 5, message="the revoked device's open connection to be closed")
    assert not still_connected.publish(revoked["reading"], reading("after"))
    still_connected.close()

    survivor = Connection(other["target"])
    assert survivor.publish(other["reading"], reading("still in service"))
    wait_for(lambda: listener.payloads(other["reading"]), 10, message="the other device's message")
    survivor.close()
    assert listener.payloads(revoked["reading"]) == [reading("before")]
    assert broker_pid(broker.proc.pid) == pid  # the same broker process, reloaded, never restarted
    assert broker.proc.poll() is None


def test_compose_lets_the_admin_api_write_the_files_the_broker_reads():
    """In docker-compose.yml the web service mounts the broker's credential volume at MOSQUITTO_AUTH_DIR."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    broker_auth = next(v for v in services["mosquitto"]["volumes"] if v.endswith(":/mosquitto/auth:ro"))
    volume = broker_auth.split(":")[0]
    auth_dir = services["web"]["environment"]["MOSQUITTO_AUTH_DIR"]
    for writer in ("web", "migrate"):
        assert f"{volume}:{auth_dir}" in services[writer].get("volumes", []), writer
