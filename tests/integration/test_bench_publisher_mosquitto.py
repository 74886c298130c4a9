"""The bench's lean publisher against a real Mosquitto: paced, every message acknowledged and delivered once,
each device's readings in order; unpaced (the raw-rate fallback) too; a refused login fails clearly.

The broker is the test session's Mosquitto with the project's configuration (accounts and ACLs), so the
publisher logs in as the simulator does; a paho subscriber on the bridge's account counts what arrives.
"""

from __future__ import annotations

import json
import multiprocessing
import threading
import time
import uuid
from collections import defaultdict
from datetime import datetime

import paho.mqtt.client as mqtt
import pytest

from bench import clients
from bench.platform import start_publisher
from config.settings import parse_mqtt_url
from tests.support.services import Mosquitto, wait_for

BOOT = 1_000_000_007


class Subscriber:
    """Records (receive wall time, payload) per topic under ``root/#`` until stopped."""

    def __init__(self, url: str, root: str):
        target = parse_mqtt_url(url)
        self.by_topic: dict[str, list[tuple[float, bytes]]] = defaultdict(list)
        self.count = 0
        self.subscribed = threading.Event()
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-sub-{uuid.uuid4().hex[:8]}")
        target.configure(client)
        client.on_connect = lambda c, _u, _f, _rc, _p: c.subscribe(f"{root}/#", qos=1)
        client.on_subscribe = lambda _c, _u, _m, _rc, _p: self.subscribed.set()
        client.on_message = self._on_message
        client.connect(target.host, target.port)
        client.loop_start()
        self.client = client
        wait_for(self.subscribed.is_set, 10, message="the subscription")

    def _on_message(self, _client, _userdata, msg):
        self.by_topic[msg.topic].append((time.time(), msg.payload))
        self.count += 1

    def stop(self):
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture(scope="module")
def mosquitto():
    """A broker of this module's own (the project's config): on the session's broker these messages on device
    topics would queue for the test bridges' persistent sessions and reach a later test's bridge."""
    broker = Mosquitto().start()
    yield broker
    broker.cleanup()


@pytest.fixture
def topic_root():
    # heping/parking/#: the simulator account may publish there and the bridge's may read (no bridge runs here)
    return f"heping/parking/BENCH-PUB-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def subscriber(mosquitto, topic_root):
    sub = Subscriber(mosquitto.url("civic-bridge"), topic_root)
    yield sub
    sub.stop()


def run_publisher(plan: clients.PublishPlan, timeout: float = 60) -> dict:
    """As the benches do: a spawned process, started, connected, then released with ``go``."""
    ctx = multiprocessing.get_context("spawn")
    process, shared, go, recv = start_publisher(ctx, plan)
    go.set()
    try:
        assert recv.poll(timeout), "the publisher did not report"
        result = recv.recv()
    finally:
        process.join(10)
        if process.is_alive():
            process.terminate()
    assert "error" not in result, result
    assert shared[clients.PHASE] == clients.DONE
    assert shared[clients.OFFERED] == result["published"] and shared[clients.ACKED] == result["acked_count"]
    return result


def assert_each_delivered_once_in_order(sub: Subscriber, topics: tuple[str, ...], total: int) -> None:
    wait_for(lambda: sub.count >= total, 30, message=f"{total} messages at the subscriber")
    time.sleep(0.5)  # a duplicate would arrive late
    assert sub.count == total
    for d, topic in enumerate(topics):
        seqs = []
        for received_at, body in sub.by_topic[topic]:
            fields = json.loads(body)
            assert body == json.dumps(fields, separators=(",", ":")).encode(), "the payload's exact JSON"
            assert fields["boot"] == BOOT and fields["occupied"] == bool((fields["seq"] >> 2) & 1)
            stamped = datetime.fromisoformat(fields["ts"]).timestamp()
            assert stamped <= received_at, "ts is no later than the publish"
            seqs.append(fields["seq"])
        expected = len(range(d, total, len(topics)))
        assert seqs == list(range(1, expected + 1)), f"device {d}: every seq once, in order"


def test_paced_publishing_is_acknowledged_and_delivered_once_in_order(mosquitto, subscriber, topic_root):
    topics = tuple(f"{topic_root}/B-{n}/state" for n in range(3))
    # two connections for three devices: devices 0 and 2 share one, each keeps its order on it
    plan = clients.PublishPlan(
        parse_mqtt_url(mosquitto.url("civic-simulator")), topics, BOOT, 2000, 2.0, 2, f"test-pub-{uuid.uuid4().hex[:6]}"
    )
    result = run_publisher(plan)
    total = 4000
    assert result["published"] == total and result["acked_count"] == total
    assert result["acked"] == b"\x01" * total
    assert (result["mid_clash"], result["refused"], result["connections"]) == (0, 0, 2)
    # paced, not flooded: the last message is due 1.9995 s after the first
    assert result["end_wall"] - result["start_wall"] >= 1.99
    assert result["cpu_s"] < 2.0 and result["lag_max_ms"] >= 0
    assert_each_delivered_once_in_order(subscriber, topics, total)


def test_unpaced_flood_as_the_raw_rate_fallback_runs_it(mosquitto, subscriber, topic_root):
    topics = (f"{topic_root}/raw",)
    messages = 20_000
    plan = clients.PublishPlan(parse_mqtt_url(mosquitto.url("civic-simulator")), topics, BOOT, 1e7, messages / 1e7, 1)
    result = run_publisher(plan)
    assert result["published"] == messages and result["acked_count"] == messages
    assert_each_delivered_once_in_order(subscriber, topics, messages)


def test_a_refused_login_names_the_connack_code(mosquitto):
    target = parse_mqtt_url(mosquitto.url("civic-simulator").replace("simulator-secret", "wrong"))
    plan = clients.PublishPlan(target, ("heping/parking/x/y/state",), BOOT, 10, 1.0, 1)
    ctx = multiprocessing.get_context("spawn")
    shared = ctx.Array("d", clients.SLOTS, lock=False)
    go = ctx.Event()  # never set: the login fails first (kept referenced until the child has it)
    recv, send = ctx.Pipe(duplex=False)
    process = ctx.Process(target=clients.publisher_main, args=(plan, shared, go, send), daemon=True)
    process.start()
    assert recv.poll(30), "the publisher did not report"
    error = recv.recv()["error"]
    process.join(10)
    assert shared[clients.PHASE] == clients.FAILED
    assert error.startswith("RuntimeError: broker refused the publisher: CONNACK return code 5 (not authorized)")
