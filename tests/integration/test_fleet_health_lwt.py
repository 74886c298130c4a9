"""Must show (issue 8): a sensor whose connection dies shows offline through its MQTT last will, within its
kind's timeout, and after the berth sweep its berth is ``unknown``.

Everything is real: Mosquitto with the project's configuration and ACL (the device logs in with its own
account), the bridge and a worker as processes, Redis and PostgreSQL.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
import pytest

from config.settings import parse_mqtt_url
from services.alerts import store as alert_store
from services.events import bus
from services.fleet import alerting
from services.fleet.jobs import sweep as sweep_fleet
from services.parking import actions as parking
from tests.support.accounts import operator_client
from tests.support.mqtt_probe import Listener
from tests.support.services import wait_for

FACILITY = "P-ZIYANGLI"
BERTH = f"{FACILITY}-001"
DEVICE = f"S-{BERTH}"  # has its own account on the test broker (tests/support/services.py)
STATUS_TOPIC = f"heping/devices/{DEVICE}/status"
STATE_TOPIC = f"heping/parking/{FACILITY}/{BERTH}/state"

pytestmark = pytest.mark.skipif(
    os.environ.get("TEST_BACKEND") == "embedded",
    reason="shown on Mosquitto with the project's configuration, where devices log in with their own accounts",
)


class Sensor:
    """A berth sensor as the firmware connects: a retained last will ``offline``, then ``online`` and a reading."""

    def __init__(self, mqtt_url: str):
        target = parse_mqtt_url(mqtt_url)
        self.connected = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=DEVICE, protocol=mqtt.MQTTv311)
        target.configure(self.client)
        self.client.will_set(STATUS_TOPIC, b"offline", qos=1, retain=True)
        self.client.on_connect = lambda _c, _u, _f, reason, _p: reason.is_failure or self.connected.set()
        self.client.connect(target.host, target.port, keepalive=30)
        self.client.loop_start()
        wait_for(self.connected.is_set, 10, message="the sensor's CONNACK")

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(10)
        assert info.is_published(), f"no PUBACK for {topic}"

    def die(self) -> None:
        """Lose the connection as a sensor losing power does: no DISCONNECT, the socket just goes."""
        sock = self.client.socket()
        self.client.loop_stop()  # stops paho's thread without sending anything
        sock.shutdown(socket.SHUT_RDWR)
        sock.close()


def reading(occupied: bool) -> bytes:
    return json.dumps(
        {"boot": 1, "seq": 1, "ts": datetime.now(UTC).isoformat(), "occupied": occupied, "battery": 64, "rssi": -71}
    ).encode()


def device_health(ops) -> dict:
    rows = ops.get("/api/v1/fleet/devices", query_string={"facility_id": FACILITY, "page_size": 500}).json
    return next(d for d in rows if d["device_id"] == DEVICE)


def berth_status(client) -> str:
    return client.get(f"/api/v1/parking/berths/{BERTH}").json["status"]


def test_a_sensor_whose_connection_dies_goes_offline_by_its_last_will_and_its_berth_unknown(
    pipeline, runtime, app, client, broker
):
    ops = operator_client(app, runtime)
    sensor = Sensor(broker.url(DEVICE))
    sensor.publish(STATUS_TOPIC, b"online", retain=True)
    sensor.publish(STATE_TOPIC, reading(occupied=True))

    wait_for(lambda: berth_status(client) == "occupied", 30, message="the berth to be occupied")
    alive = wait_for(lambda: (d := device_health(ops))["state"] == "online" and d, 20, message="the sensor online")
    assert alive["status"] == "online"

    sensor.die()
    died_at = time.monotonic()
    timeout_s = runtime.settings.berth_silence_s

    # The broker publishes the will; the bridge records it; the fleet shows the sensor offline, well within
    # the timeout after which silence alone would only have made it stale.
    wait_for(
        lambda: runtime.redis.hget(runtime.keys.device_status, DEVICE) == b"offline",
        20,
        message="the bridge to record the last will",
    )
    dead = wait_for(lambda: (d := device_health(ops))["state"] == "offline" and d, 20, message="the sensor offline")
    assert time.monotonic() - died_at < timeout_s
    assert dead["status"] == "offline" and dead["silent_s"] < timeout_s  # the will said so, not the silence
    summary = ops.get("/api/v1/fleet").json
    parking_kind = next(k for k in summary["kinds"] if k["kind"] == "parking_berth")
    assert parking_kind["online"] == 0 and parking_kind["timeout_s"] == timeout_s

    # The will is retained: whoever subscribes later (a restarted bridge, the console) learns it too.
    listener = Listener(parse_mqtt_url(broker.url("civic-bridge")), STATUS_TOPIC)
    try:
        wait_for(lambda: listener.payloads(STATUS_TOPIC) == [b"offline"], 10, message="the retained will")
    finally:
        listener.close()

    # The berth sweep job: the berth of the dead sensor is unknown, not left occupied.
    assert berth_status(client) == "occupied"
    assert BERTH in [c["berth_id"] for c in parking.sweep(runtime)]
    assert berth_status(client) == "unknown"

    # The fleet sweep: the facility's offline alert names the sensor; the fleet event is on the stream.
    sweep_fleet(runtime)
    with runtime.sessions() as session:
        alert = alert_store.find_open(session, alerting.KIND, alerting.SOURCE, FACILITY)
        assert alert is not None and DEVICE in alert.detail["device_ids"]
    streamed = [json.loads(f[bus.FIELD]) for _, f in runtime.redis.xrange(runtime.keys.events_stream)]
    assert any(e["kind"] == "device_status" and e.get("status") == "offline" for e in streamed)
    assert any(e["kind"] == "fleet" for e in streamed)

    # Clean up the retained will on the shared broker, so later tests start from no status.
    cleaner = Sensor(broker.url(DEVICE))
    cleaner.publish(STATUS_TOPIC, b"", retain=True)
    cleaner.client.disconnect()
    cleaner.client.loop_stop()
