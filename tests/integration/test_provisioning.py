"""Per-device broker credentials and ACL on a real Mosquitto, and `civic device add|revoke`."""

import contextlib
import json
import subprocess
import sys
import time
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
import pytest

from services.devices.broker_auth import verify_password
from tests.support.services import ROOT, TEST_PASSWORDS, broker_test_accounts, wait_for

OWN = "heping/parking/P-ZIYANGLI/P-ZIYANGLI-001/state"
OTHERS = "heping/parking/P-ZIYANGLI/P-ZIYANGLI-002/state"


def reading(seq):
    return json.dumps({"boot": 1, "seq": seq, "ts": datetime.now(UTC).isoformat(), "occupied": True})


class Listener:
    """A subscriber with the bridge's read access, collecting what the broker delivers."""

    def __init__(self, broker):
        self.messages = []
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="acl-listener")
        self.client.username_pw_set("civic-bridge", TEST_PASSWORDS["civic-bridge"])
        self.client.on_message = lambda _c, _u, m: self.messages.append((m.topic, m.payload))
        self.client.connect("127.0.0.1", broker.port)
        self.client.subscribe("heping/parking/#", qos=1)
        self.client.loop_start()

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


def connect_as(broker, user, password):
    """Connect and return (client, reason code of the CONNACK)."""
    result = {}
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{user}-test", protocol=mqtt.MQTTv311)
    client.username_pw_set(user, password)
    client.on_connect = lambda _c, _u, _f, rc, _p: result.setdefault("rc", rc)
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    wait_for(lambda: "rc" in result, 10, message="CONNACK")
    return client, result["rc"]


@pytest.fixture
def listener(mosquitto):
    mosquitto.write_auth(list(broker_test_accounts().values()))
    mosquitto.reload()
    listener = Listener(mosquitto)
    yield listener
    listener.close()
    mosquitto.write_auth(list(broker_test_accounts().values()))
    mosquitto.reload()


def try_publish(client, topic, payload) -> None:
    """Publish and wait; the broker may drop the client for a forbidden topic, which is fine too."""
    with contextlib.suppress(RuntimeError, ValueError):
        client.publish(topic, payload, qos=1).wait_for_publish(5)
    client.disconnect()
    client.loop_stop()


def test_a_device_publishes_only_to_its_own_topics(mosquitto, listener):
    client, rc = connect_as(mosquitto, "S-P-ZIYANGLI-001", TEST_PASSWORDS["S-P-ZIYANGLI-001"])
    assert not rc.is_failure
    try_publish(client, OTHERS, reading(1))  # impersonating device 002: dropped (or disconnected)
    client, _ = connect_as(mosquitto, "S-P-ZIYANGLI-001", TEST_PASSWORDS["S-P-ZIYANGLI-001"])
    try_publish(client, OWN, reading(2))
    wait_for(lambda: listener.messages, 10, message="the device's own message")
    time.sleep(0.5)  # anything else the broker let through would have arrived by now
    assert [t for t, _ in listener.messages] == [OWN]


def test_wrong_password_and_unknown_user_are_refused(mosquitto):
    for user, password in (("S-P-ZIYANGLI-001", "guess"), ("nobody", "x")):
        client, rc = connect_as(mosquitto, user, password)
        client.loop_stop()
        assert rc.is_failure, user


def test_revocation_takes_effect_without_a_broker_restart(mosquitto, listener):
    accounts = broker_test_accounts()
    client, _ = connect_as(mosquitto, "S-P-ZIYANGLI-002", TEST_PASSWORDS["S-P-ZIYANGLI-002"])
    client.publish(OTHERS, reading(1), qos=1).wait_for_publish(5)
    wait_for(lambda: len(listener.messages) == 1, 10, message="the message before revocation")

    pid = mosquitto.proc.pid
    mosquitto.write_auth([a for name, a in accounts.items() if name != "S-P-ZIYANGLI-002"])
    mosquitto.reload()

    def refused():
        probe, rc = connect_as(mosquitto, "S-P-ZIYANGLI-002", TEST_PASSWORDS["S-P-ZIYANGLI-002"])
        probe.loop_stop()
        return rc.is_failure

    wait_for(refused, 10, interval=0.5, message="new connections of the revoked device to be refused")
    try_publish(client, OTHERS, reading(2))
    time.sleep(1)  # a message the broker let through would reach the listener well within this
    assert len(listener.messages) == 1  # the connection it still had could no longer publish
    assert mosquitto.proc.pid == pid and mosquitto.proc.poll() is None


def civic(env, *args):
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def test_device_add_and_revoke_write_the_broker_files(runtime, env, tmp_path):
    env = env | {"MOSQUITTO_AUTH_DIR": str(tmp_path / "auth")}
    added = civic(env, "device", "add", "--berth", "P-BINJIANG-G-200")  # berths 111-220 have no sensor yet
    assert added.returncode == 0, added.stderr
    password = added.stdout.strip().splitlines()[-1]
    passwd = (tmp_path / "auth/passwd").read_text()
    acl = (tmp_path / "auth/acl").read_text()
    stored = dict(line.split(":", 1) for line in passwd.splitlines())
    assert verify_password(password, stored["S-P-BINJIANG-G-200"].strip())
    assert "user S-P-BINJIANG-G-200\ntopic write heping/parking/P-BINJIANG-G/P-BINJIANG-G-200/state\n" in acl
    assert runtime.redis.hexists(runtime.keys.registry, "parking/P-BINJIANG-G/P-BINJIANG-G-200")

    assert civic(env, "device", "add", "--berth", "P-BINJIANG-G-200").returncode != 0  # already has one
    revoked = civic(env, "device", "revoke", "S-P-BINJIANG-G-200")
    assert revoked.returncode == 0, revoked.stderr
    assert "S-P-BINJIANG-G-200" not in (tmp_path / "auth/passwd").read_text()
    assert "S-P-BINJIANG-G-200" not in (tmp_path / "auth/acl").read_text()


def test_run_sh_reloads_the_broker_when_credentials_change():
    """The compose broker (run.sh) picks up a revocation by itself, without a restart."""
    from tests.support.services import Mosquitto

    broker = Mosquitto().start(via_run_sh=True)
    try:
        client, rc = connect_as(broker, "S-P-ZIYANGLI-002", TEST_PASSWORDS["S-P-ZIYANGLI-002"])
        client.disconnect()
        client.loop_stop()
        assert not rc.is_failure
        broker.write_auth([a for name, a in broker_test_accounts().items() if name != "S-P-ZIYANGLI-002"])

        def refused():
            probe, rc = connect_as(broker, "S-P-ZIYANGLI-002", TEST_PASSWORDS["S-P-ZIYANGLI-002"])
            probe.loop_stop()
            return rc.is_failure

        wait_for(refused, 20, interval=1, message="run.sh to reload the broker")
        assert "credentials changed, broker reloaded" in (broker.dir / "mosquitto.log").read_text()
    finally:
        broker.cleanup()
