"""BufferedClient: paho's parser fed from a 64 KiB buffer, every buffered packet handled in one wake-up."""

from __future__ import annotations

import contextlib
import socket
import struct

import paho.mqtt.client as mqtt
import pytest

from workers.mqtt_client import READ_SIZE, BufferedClient, client_class


def publish_packet(topic: str, payload: bytes) -> bytes:
    """An MQTT 3.1.1 PUBLISH at QoS 0: type byte, remaining-length varint, topic, payload."""
    body = struct.pack("!H", len(topic)) + topic.encode() + payload
    length, varint = len(body), bytearray()
    while True:
        length, digit = divmod(length, 128)
        varint.append(digit | (128 if length else 0))
        if not length:
            break
    return b"\x30" + bytes(varint) + body


@pytest.fixture
def wired():
    """A BufferedClient whose socket is one end of a socketpair; the test writes the broker's side."""
    ours, broker = socket.socketpair()
    ours.setblocking(False)
    client = BufferedClient(mqtt.CallbackAPIVersion.VERSION2, client_id="t", protocol=mqtt.MQTTv311)
    client._sock = ours  # what connect() would have set
    received: list[tuple[str, bytes]] = []
    client.on_message = lambda _c, _u, msg: received.append((msg.topic, msg.payload))
    yield client, broker, received
    client._sock_close()
    broker.close()


def test_one_wake_up_handles_every_packet_already_read(wired):
    client, broker, received = wired
    packets = [publish_packet(f"heping/parking/d{i}/state", b'{"seq":%d}' % i) for i in range(1000)]
    broker.sendall(b"".join(packets))
    client.loop_read()
    # paho alone would have handled one; the rest would wait in a buffer select() cannot see.
    assert received == [(f"heping/parking/d{i}/state", b'{"seq":%d}' % i) for i in range(1000)]
    assert not client._buffered()


def test_a_packet_split_across_reads_is_finished_when_its_rest_arrives(wired):
    client, broker, received = wired
    whole = publish_packet("a/b", b"x" * 300)  # a two-byte length
    broker.sendall(publish_packet("first", b"1") + whole[:2])
    client.loop_read()
    assert received == [("first", b"1")]
    broker.sendall(whole[2:])
    client.loop_read()
    assert received == [("first", b"1"), ("a/b", b"x" * 300)]


def test_a_payload_larger_than_the_buffer(wired):
    client, broker, received = wired
    big = bytes(range(256)) * (3 * READ_SIZE // 256)
    broker.setblocking(False)
    data, sent = publish_packet("big", big) + publish_packet("after", b"!"), 0
    while len(received) < 2:
        with contextlib.suppress(BlockingIOError):
            sent += broker.send(data[sent:])
        client.loop_read()
    assert received == [("big", big), ("after", b"!")]


def test_a_closed_connection_is_reported_and_forgets_its_bytes(wired):
    client, broker, received = wired
    broker.sendall(publish_packet("x", b"1")[:3])
    client.loop_read()
    broker.close()
    assert client.loop_read() != mqtt.MQTT_ERR_SUCCESS  # connection lost, as paho reports it
    assert client._read_buffer == b"" and not received


def test_the_installed_paho_has_the_methods_buffered_client_overrides():
    # An upgrade that renames them would silently fall back to the plain client: fail here instead.
    assert client_class() is BufferedClient
