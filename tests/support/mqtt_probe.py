"""MQTT clients for the broker tests: a device's connection and a listener with the bridge's read access."""

from __future__ import annotations

import contextlib
import threading
import uuid

import paho.mqtt.client as mqtt

from config.settings import MqttTarget
from tests.support.services import wait_for


class Connection:
    """One client's connection (QoS 1, MQTT 3.1.1): the broker's CONNACK answer and whether it was dropped."""

    def __init__(self, target: MqttTarget, on_message=None):
        self.answered, self.dropped = threading.Event(), threading.Event()
        self.reason: mqtt.ReasonCode | None = None
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"{target.username}-{uuid.uuid4().hex[:6]}",
            protocol=mqtt.MQTTv311,
        )
        target.configure(self.client)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda *_args: self.dropped.set()
        if on_message:
            self.client.on_message = on_message
        self.client.connect(target.host, target.port)
        self.client.loop_start()
        # A broker that will not talk (plain MQTT on a TLS port) closes the connection instead of answering.
        wait_for(lambda: self.answered.is_set() or self.dropped.is_set(), 10, message=f"{target.username}'s CONNACK")

    def _on_connect(self, _client, _userdata, _flags, reason, _properties):
        if self.reason is None:  # the first answer; paho's reconnects after a drop would overwrite it
            self.reason = reason
        self.answered.set()

    @property
    def accepted(self) -> bool:
        return self.reason is not None and not self.reason.is_failure

    def publish(self, topic: str, payload: bytes) -> bool:
        """Publish at QoS 1 and wait for the PUBACK; False when the broker dropped the connection instead."""
        with contextlib.suppress(RuntimeError, ValueError):  # not connected (any more)
            info = self.client.publish(topic, payload, qos=1)
            info.wait_for_publish(5)
            return info.is_published()
        return False

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def admitted(target: MqttTarget) -> bool:
    """Whether the broker lets these credentials in now (connects, then leaves)."""
    probe = Connection(target)
    probe.close()
    return probe.accepted


class Listener(Connection):
    """A subscriber with the bridge's account: what it receives is what the bridge would ingest."""

    def __init__(self, target: MqttTarget, topic: str = "heping/#"):
        self.messages: list[tuple[str, bytes]] = []
        super().__init__(target, on_message=lambda _c, _u, m: self.messages.append((m.topic, m.payload)))
        assert self.accepted, f"the broker refused the listener: {self.reason}"
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *_args: subscribed.set()
        self.client.subscribe(topic, qos=1)
        wait_for(subscribed.is_set, 10, message="SUBACK")

    def payloads(self, topic: str) -> list[bytes]:
        return [payload for t, payload in list(self.messages) if t == topic]
