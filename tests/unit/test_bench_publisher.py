"""The bench publisher's own MQTT 3.1.1: packet encoding, PUBACK parsing across reads, per-connection bookkeeping.

Packets are checked against the specification's layout with a decoder written here independently; the
connection bookkeeping runs over a real socket pair, the test playing the broker's side.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import replace

import pytest

from bench import clients
from bench.clients import (
    _Connection,
    connect_packet,
    decode_remaining_length,
    encode_remaining_length,
    encode_string,
    publish_packet,
    take_pubacks,
)
from config.settings import MqttTarget

# (length, its encoding) at every boundary of the variable-length scheme (MQTT 3.1.1 §2.2.3, table 2.4)
BOUNDARIES = [
    (0, b"\x00"),
    (127, b"\x7f"),
    (128, b"\x80\x01"),
    (321, b"\xc1\x02"),
    (16383, b"\xff\x7f"),
    (16384, b"\x80\x80\x01"),
    (2097151, b"\xff\xff\x7f"),
    (2097152, b"\x80\x80\x80\x01"),
    (268435455, b"\xff\xff\xff\x7f"),
]


def spec_decode_length(data: bytes) -> tuple[int, int]:
    """The specification's decoding algorithm, as written there: (value, bytes used)."""
    multiplier, value, used = 1, 0, 0
    while True:
        byte = data[used]
        used += 1
        value += (byte & 127) * multiplier
        multiplier *= 128
        if not byte & 128:
            return value, used


def split_publish(packet: bytes) -> tuple[int, str, int, bytes]:
    """(first byte, topic, packet id, payload) of one complete PUBLISH packet."""
    remaining, used = spec_decode_length(packet[1:])
    rest = packet[1 + used :]
    assert len(rest) == remaining, "remaining length must count exactly the rest of the packet"
    topic_len = int.from_bytes(rest[:2], "big")
    topic = rest[2 : 2 + topic_len].decode()
    packet_id = int.from_bytes(rest[2 + topic_len : 4 + topic_len], "big")
    return packet[0], topic, packet_id, rest[4 + topic_len :]


@pytest.mark.parametrize(("n", "encoded"), BOUNDARIES)
def test_remaining_length_matches_the_specification_at_each_boundary(n, encoded):
    assert encode_remaining_length(n) == encoded
    assert decode_remaining_length(encoded, 0) == (n, len(encoded))
    assert decode_remaining_length(b"\x40" + encoded, 1) == (n, len(encoded))


def test_remaining_length_rejects_what_mqtt_cannot_carry():
    for n in (-1, 268435456):
        with pytest.raises(ValueError):
            encode_remaining_length(n)
    with pytest.raises(ValueError, match="malformed"):
        decode_remaining_length(b"\x80\x80\x80\x80\x01", 0)


def test_an_unfinished_remaining_length_waits_for_more_bytes():
    assert decode_remaining_length(b"\x80\x80", 0) is None
    assert decode_remaining_length(b"", 0) is None


def test_strings_carry_their_utf8_byte_length():
    assert encode_string("a/b") == b"\x00\x03a/b"
    assert encode_string("和平/P-1") == b"\x00\x0a" + "和平/P-1".encode()  # 6 bytes of Chinese + 4
    with pytest.raises(ValueError):
        encode_string("x" * 65536)


@pytest.mark.parametrize("size", [10, 200, 20_000, 3_000_000])  # 1-, 2-, 3- and 4-byte remaining lengths
def test_publish_packet_is_qos1_with_topic_id_and_payload(size):
    topic = "heping/parking/P-ZIYANGLI/P-ZIYANGLI-001/state"
    body = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    for packet_id in (1, 258, 65535):
        packet = publish_packet(encode_string(topic), packet_id, body)
        assert split_publish(packet) == (0x32, topic, packet_id, body)


def test_connect_packet_bytes():
    # CONNECT, remaining 13: "MQTT", level 4, clean session, keepalive 60, client id "c"
    assert connect_packet("c", None, None, 60) == b"\x10\x0d\x00\x04MQTT\x04\x02\x00\x3c\x00\x01c"
    with_login = connect_packet("c", "u", "pw", 60)
    assert with_login == b"\x10\x14\x00\x04MQTT\x04\xc2\x00\x3c\x00\x01c\x00\x01u\x00\x02pw"
    # MQTT 3.1.1 forbids a password without a user name
    assert connect_packet("c", None, "pw", 60) == connect_packet("c", None, None, 60)


def pubacks(*ids: int) -> bytes:
    return b"".join(b"\x40\x02" + i.to_bytes(2, "big") for i in ids)


def test_pubacks_are_read_in_bulk_and_other_packets_skipped():
    other = b"\x30" + encode_remaining_length(300) + b"z" * 300  # any packet with a 2-byte length
    inbox = bytearray(pubacks(1, 2) + b"\xd0\x00" + pubacks(65535) + other + pubacks(7))
    assert take_pubacks(inbox) == [1, 2, 65535, 7]
    assert inbox == b""


def test_pubacks_survive_every_split_between_reads():
    stream = pubacks(1, 300) + b"\xd0\x00" + b"\x30" + encode_remaining_length(200) + b"y" * 200 + pubacks(65535, 9)
    for cut in range(len(stream) + 1):
        for second_cut in (cut, min(len(stream), cut + 1), min(len(stream), cut + 3)):
            inbox, seen = bytearray(), []
            for part in (stream[:cut], stream[cut:second_cut], stream[second_cut:]):
                inbox += part
                seen += take_pubacks(inbox)
            assert seen == [1, 300, 65535, 9], f"split at {cut}/{second_cut}"
            assert inbox == b""


def test_byte_by_byte_reads_lose_nothing():
    stream = pubacks(*range(1, 50))
    inbox, seen = bytearray(), []
    for byte in stream:
        inbox.append(byte)
        seen += take_pubacks(inbox)
    assert seen == list(range(1, 50))


def test_payload_keeps_its_exact_json():
    wall = 1_795_000_000.123456
    for seq in range(1, 20):
        body = clients.payload(1_000_000_001, seq, wall)
        fields = json.loads(body)
        assert list(fields) == ["boot", "seq", "ts", "occupied"]
        assert fields == {
            "boot": 1_000_000_001,
            "seq": seq,
            "ts": "2026-11-18T11:06:40.123456+00:00",
            "occupied": bool((seq >> 2) & 1),
        }
        assert body == json.dumps(fields, separators=(",", ":")).encode()


# -- one connection's bookkeeping over a real socket pair --------------------------------------------
@pytest.fixture
def pair():
    ours, broker = socket.socketpair()
    ours.setblocking(False)
    broker.settimeout(5)
    yield _Connection(ours), broker
    ours.close()
    broker.close()


def read_packets(broker: socket.socket, count: int) -> list[tuple[int, str, int, bytes]]:
    data, packets = b"", []
    while len(packets) < count:
        data += broker.recv(65536)
        while len(data) >= 2:
            remaining, used = spec_decode_length(data[1:])
            end = 1 + used + remaining
            if len(data) < end:
                break
            packets.append(split_publish(data[:end]))
            data = data[end:]
    return packets


def test_a_connection_sends_in_order_and_flags_each_puback_once(pair):
    conn, broker = pair
    topic = encode_string("t/1")
    for i in range(5):
        conn.publish(topic, b"m%d" % i, index=10 + i)
    conn.flush()
    packets = read_packets(broker, 5)
    assert [(p[2], p[3]) for p in packets] == [(1, b"m0"), (2, b"m1"), (3, b"m2"), (4, b"m3"), (5, b"m4")]
    acked = bytearray(20)
    broker.sendall(pubacks(2, 1) + pubacks(2)[:3])  # the third PUBACK is cut in half, a repeat of 2
    assert _receive_until(conn, acked, 2) == 2
    broker.sendall(pubacks(2)[3:] + b"\xd0\x00" + pubacks(5))
    assert _receive_until(conn, acked, 1) == 1
    assert [i for i in range(20) if acked[i]] == [10, 11, 14]


def _receive_until(conn: _Connection, acked: bytearray, expected: int) -> int:
    """Read until ``expected`` new acknowledgements came (bytes on a socket pair arrive at once, but need not)."""
    got = 0
    for _ in range(100):
        got += conn.receive(acked)
        if got >= expected:
            break
        time.sleep(0.01)
    return got


def test_packet_ids_wrap_and_a_reused_unacknowledged_id_counts_as_a_clash(pair):
    conn, _broker = pair
    topic = encode_string("t")
    for i in range(65535):
        conn.publish(topic, b"", index=i)
        conn.outbox.clear()  # the broker side does not read here; only the ids matter
    assert conn.mid_clash == 0
    assert conn.last_id == 65535 and conn.index_of_id[0] == -1, "ids run 1..65535: 0 is not a packet id"
    conn.publish(topic, b"", index=65535)  # id 1 again, while message 0 is unacknowledged
    assert conn.mid_clash == 1
    assert conn.last_id == 1 and conn.index_of_id[1] == 65535


def test_a_closed_connection_refuses_and_stops_reading(pair):
    conn, broker = pair
    broker.close()
    assert conn.receive(bytearray(1)) == 0
    assert not conn.alive
    conn.publish(encode_string("t"), b"x", index=0)
    assert conn.refused == 1 and conn.outbox == b""


def test_partial_writes_keep_the_rest_for_later(pair):
    conn, broker = pair
    conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    topic = encode_string("t/big")
    body = b"b" * 1000
    for i in range(2000):  # ~2 MB: far more than the socket takes at once
        conn.publish(topic, body, index=i)
    conn.flush()
    assert conn.outbox, "a non-blocking socket with a small buffer cannot take it all"
    received = []

    def drain():
        received.extend(read_packets(broker, 2000))

    reader = threading.Thread(target=drain)
    reader.start()
    while conn.outbox:
        conn.flush()
    reader.join(10)
    assert [p[2] for p in received] == list(range(1, 2001))
    assert all(p[3] == body for p in received)


def test_tls_targets_are_refused_clearly():
    target = MqttTarget("127.0.0.1", 8883, None, None)
    with pytest.raises(RuntimeError, match="plain TCP only"):
        clients._connect_all(replace(target, tls=True), ["x"])
