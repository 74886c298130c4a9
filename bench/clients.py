"""The bench's MQTT clients, each run in a process of its own: the paced publisher and the raw subscriber.

The publisher is kept lean because its CPU competes with the platform's on a small machine. It speaks just
enough MQTT 3.1.1 itself (CONNECT, QoS 1 PUBLISH, PUBACK, PINGREQ) over a few non-blocking sockets driven
from one thread: a burst's packets are appended to one buffer per connection and written with one send,
PUBACKs are parsed in bulk, flags live in a bytearray, and each burst formats its timestamp once. paho's
``publish()`` cost 45-80 µs of CPU per message on a 2-core machine; this about 7 µs at 10,000/s, most of it
the kernel's (send and select), and less per message at higher rates as bursts grow.
"""

from __future__ import annotations

import contextlib
import math
import os
import select
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import paho.mqtt.client as mqtt

from bench.stats import Pacer, identity_of
from config.settings import MqttTarget

# Slots of the shared array the publisher updates for the parent's progress line.
OFFERED, ACKED, START, END, PHASE, LAG_MAX = range(6)
SLOTS = 6
CONNECTING, READY, PUBLISHING, DRAINING, DONE, FAILED = range(6)
MAX_BURST = 500  # messages written between two reads of the sockets, when catching up or flooding
CONNECT_TIMEOUT = 20.0
TICK = 0.002  # shortest sleep between two bursts of publishing


@dataclass(frozen=True)
class PublishPlan:
    target: MqttTarget
    topics: tuple[str, ...]  # message i goes to topics[i % len(topics)]
    boot: int
    rate: float
    duration: float
    connections: int = 4
    client_prefix: str = "civic-bench-pub"
    drain_s: float = 15.0  # after the last publish, how long to wait for outstanding PUBACKs


def _payload_parts(boot: int, wall: float) -> tuple[bytes, tuple[bytes, bytes]]:
    """What a reading's payload is made of around its seq: the head, and the tails for a free and an
    occupied berth. A burst builds them once; each message then only formats its seq."""
    ts = datetime.fromtimestamp(wall, UTC).isoformat(timespec="microseconds")
    tail = f',"ts":"{ts}","occupied":'
    return f'{{"boot":{boot},"seq":'.encode(), ((tail + "false}").encode(), (tail + "true}").encode())


def _body(head: bytes, tails: tuple[bytes, bytes], seq: int) -> bytes:
    # The berth changes state every fourth reading (a quarter of rows move a berth's status).
    return b"%b%d%b" % (head, seq, tails[(seq >> 2) & 1])


def payload(boot: int, seq: int, wall: float) -> bytes:
    """A berth reading; ``ts`` is the publish time, so the stored row's observed_at is its publish time.
    The berth changes state every fourth reading (a quarter of rows move a berth's status)."""
    head, tails = _payload_parts(boot, wall)
    return _body(head, tails, seq)


def _client(target: MqttTarget, client_id: str, clean_session: bool = True) -> mqtt.Client:
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean_session, protocol=mqtt.MQTTv311
    )
    if target.username:
        client.username_pw_set(target.username, target.password)
    return client


# -- MQTT 3.1.1 packets, as much of them as a QoS 1 publisher needs ---------------------------------
CONNACK, PUBLISH_QOS1, PUBACK = 0x20, 0x32, 0x40
PINGREQ, DISCONNECT = b"\xc0\x00", b"\xe0\x00"
KEEPALIVE = 60  # seconds; we ping every half of it, also while waiting for ``go``
CONNACK_CODES = {
    1: "unacceptable protocol version",
    2: "identifier rejected",
    3: "server unavailable",
    4: "bad user name or password",
    5: "not authorized",
}
MAX_PACKET_ID = 65535


def encode_remaining_length(n: int) -> bytes:
    """The fixed header's Remaining Length: 7 bits a byte, least significant first, high bit = more."""
    if not 0 <= n <= 268_435_455:
        raise ValueError(f"remaining length out of range: {n}")
    if n < 128:  # the common cases first: this runs once per message
        return bytes((n,))
    if n < 16384:
        return bytes((n & 0x7F | 0x80, n >> 7))
    out = bytearray()
    while True:
        n, digit = n >> 7, n & 0x7F
        out.append(digit | 0x80 if n else digit)
        if not n:
            return bytes(out)


def decode_remaining_length(buf: bytes | bytearray, pos: int) -> tuple[int, int] | None:
    """(length, bytes it took) of the Remaining Length at ``buf[pos:]``; None when it is not all there yet."""
    value = 0
    for k in range(4):
        if pos + k >= len(buf):
            return None
        byte = buf[pos + k]
        value |= (byte & 0x7F) << (7 * k)
        if not byte & 0x80:
            return value, k + 1
    raise ValueError("malformed remaining length (more than 4 bytes)")


def encode_string(text: str) -> bytes:
    """An MQTT UTF-8 string: 2-byte big-endian length, then the bytes (a topic, client id, user name)."""
    data = text.encode()
    if len(data) > 65535:
        raise ValueError("MQTT strings are at most 65,535 bytes")
    return len(data).to_bytes(2, "big") + data


def connect_packet(client_id: str, username: str | None, password: str | None, keepalive: int) -> bytes:
    """CONNECT with a clean session; a password is sent only with a user name (MQTT 3.1.1 §3.1.2.9)."""
    flags, fields = 0x02, encode_string(client_id)
    if username:
        flags |= 0x80
        fields += encode_string(username)
        if password:
            flags |= 0x40
            fields += encode_string(password)
    body = encode_string("MQTT") + bytes((4, flags)) + keepalive.to_bytes(2, "big") + fields
    return bytes((0x10,)) + encode_remaining_length(len(body)) + body


def publish_packet(topic_field: bytes, packet_id: int, body: bytes) -> bytes:
    """PUBLISH at QoS 1; ``topic_field`` is the topic already encoded by :func:`encode_string`."""
    remaining = len(topic_field) + 2 + len(body)
    header = encode_remaining_length(remaining)
    return b"%c%b%b%b%b" % (PUBLISH_QOS1, header, topic_field, packet_id.to_bytes(2, "big"), body)


def take_pubacks(inbox: bytearray) -> list[int]:
    """Remove every complete packet from the front of ``inbox``; return the packet ids of the PUBACKs.

    Any other packet (PINGRESP, ...) is skipped by its length; an incomplete one stays for the next read."""
    ids: list[int] = []
    pos, end = 0, len(inbox)
    while pos + 2 <= end:
        if inbox[pos] == PUBACK and inbox[pos + 1] == 2:  # nearly every packet we read
            if pos + 4 > end:
                break
            ids.append(inbox[pos + 2] << 8 | inbox[pos + 3])
            pos += 4
            continue
        decoded = decode_remaining_length(inbox, pos + 1)
        if decoded is None or pos + 1 + decoded[1] + decoded[0] > end:
            break
        pos += 1 + decoded[1] + decoded[0]
    del inbox[:pos]
    return ids


class _Connection:
    """One publishing connection: its socket, outgoing bytes not yet written, bytes read not yet parsed,
    and which message index each packet id stands for (-1: free)."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.outbox = bytearray()
        self.inbox = bytearray()
        self.index_of_id = [-1] * (MAX_PACKET_ID + 1)
        self.last_id = 0
        self.alive = True
        self.next_ping = time.monotonic() + KEEPALIVE / 2
        self.mid_clash = 0  # packet ids reused while their message was still unacknowledged
        self.refused = 0  # messages not sent because the broker had closed the connection

    def fileno(self) -> int:  # lets select() take the connection itself
        return self.sock.fileno()

    def publish(self, topic_field: bytes, body: bytes, index: int) -> None:
        if not self.alive:
            self.refused += 1
            return
        packet_id = self.last_id % MAX_PACKET_ID + 1
        self.last_id = packet_id
        if self.index_of_id[packet_id] >= 0:
            self.mid_clash += 1
        self.index_of_id[packet_id] = index
        self.outbox += publish_packet(topic_field, packet_id, body)

    def flush(self) -> None:
        """Write what the socket takes now; the rest waits until select() says it is writable."""
        if not (self.alive and self.outbox):
            return
        try:
            written = self.sock.send(self.outbox)
        except BlockingIOError:
            return
        except OSError:
            self.lost()
            return
        del self.outbox[:written]

    def receive(self, acked: bytearray) -> int:
        """Read what arrived; flag each newly acknowledged message in ``acked``; return how many."""
        try:
            data = self.sock.recv(65536)
        except BlockingIOError:
            return 0
        except OSError:
            data = b""
        if not data:
            self.lost()
            return 0
        self.inbox += data
        newly = 0
        index_of_id = self.index_of_id
        for packet_id in take_pubacks(self.inbox):
            i = index_of_id[packet_id]
            if i >= 0:
                index_of_id[packet_id] = -1
                if not acked[i]:
                    acked[i] = 1
                    newly += 1
        return newly

    def ping_if_due(self, now: float) -> None:
        if now >= self.next_ping:
            self.outbox += PINGREQ
            self.next_ping = now + KEEPALIVE / 2

    def lost(self) -> None:
        self.alive = False
        self.outbox.clear()
        self.sock.close()

    def close(self) -> None:
        """Say goodbye when nothing is half-written (a DISCONNECT must not land inside a packet)."""
        if not self.alive:
            return
        if not self.outbox:
            with contextlib.suppress(OSError):
                self.sock.send(DISCONNECT)
        self.alive = False
        self.sock.close()


def _open(target: MqttTarget, client_id: str, deadline: float) -> _Connection:
    """Connect, send CONNECT and wait for a CONNACK that accepts us; then go non-blocking."""
    sock = socket.create_connection((target.host, target.port), timeout=max(0.1, deadline - time.monotonic()))
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # a burst is one write: send it now
        sock.sendall(connect_packet(client_id, target.username, target.password, KEEPALIVE))
        reply = b""
        while len(reply) < 4:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = sock.recv(4 - len(reply))
            if not chunk:
                raise RuntimeError("broker closed the publisher's connection before its CONNACK")
            reply += chunk
    except TimeoutError:
        sock.close()
        raise RuntimeError(f"publisher: no CONNACK within {CONNECT_TIMEOUT:.0f} s") from None
    except BaseException:
        sock.close()
        raise
    if reply[0] != CONNACK or reply[1] != 2:
        sock.close()
        raise RuntimeError(f"publisher: expected a CONNACK, got {reply.hex()}")
    if reply[3]:
        sock.close()
        reason = CONNACK_CODES.get(reply[3], "unknown")
        raise RuntimeError(f"broker refused the publisher: CONNACK return code {reply[3]} ({reason})")
    sock.setblocking(False)
    return _Connection(sock)


def _connect_all(target: MqttTarget, client_ids: list[str]) -> list[_Connection]:
    if target.tls:
        raise RuntimeError("the bench publisher speaks plain TCP only; point it at a broker without TLS (mqtt://)")
    deadline = time.monotonic() + CONNECT_TIMEOUT
    conns: list[_Connection] = []
    try:
        for client_id in client_ids:
            conns.append(_open(target, client_id, deadline))
    except BaseException:
        for conn in conns:
            conn.close()
        raise
    return conns


def _service(conns: list[_Connection], timeout: float, acked: bytearray) -> int:
    """Wait up to ``timeout`` for the sockets; write what is pending, read PUBACKs; return how many new."""
    live = [c for c in conns if c.alive]
    now = time.monotonic()
    for conn in live:
        conn.ping_if_due(now)
    readable, writable, _ = select.select(live, [c for c in live if c.outbox], [], timeout)
    for conn in writable:
        conn.flush()
    return sum(conn.receive(acked) for conn in readable if conn.alive)


def _publish_burst(conns: list[_Connection], topic_fields: list[bytes], boot: int, start: int, stop: int) -> None:
    """Messages ``start`` .. ``stop - 1``, stamped with this moment (so each ts ≤ its real publish time),
    each on its device's connection (device d on connection d % k keeps a device's readings in order)."""
    head, tails = _payload_parts(boot, time.time())
    devices, k = len(topic_fields), len(conns)
    for i in range(start, stop):
        d, seq = identity_of(i, devices)
        conns[d % k].publish(topic_fields[d], _body(head, tails, seq), i)
    for conn in conns:
        conn.flush()


# -- the paced publisher ----------------------------------------------------------------------------
OUTBOX_LIMIT = 4 << 20  # bytes queued on a connection beyond which we wait for the broker before publishing


def publisher_main(plan: PublishPlan, shared, go, conn) -> None:
    """Process entry point: connect, wait for ``go``, publish on schedule, drain PUBACKs, report on ``conn``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    try:
        conn.send(_publish(plan, shared, go))
    except Exception as exc:  # report, do not hang the parent
        shared[PHASE] = FAILED
        conn.send({"error": f"{type(exc).__name__}: {exc}"})


def _publish(plan: PublishPlan, shared, go) -> dict:
    k = max(1, plan.connections)
    conns = _connect_all(plan.target, [f"{plan.client_prefix}-{os.getpid()}-{n}" for n in range(k)])
    try:
        shared[PHASE] = READY
        while not go.wait(0.2):
            _service(conns, 0, bytearray())  # answer pings while the platform starts
        result = _paced_run(plan, shared, conns)
    finally:
        for c in conns:
            c.close()
    shared[PHASE] = DONE
    return result


def _paced_run(plan: PublishPlan, shared, conns: list[_Connection]) -> dict:
    pacer = Pacer(plan.rate, plan.duration)
    total = pacer.total
    topic_fields = [encode_string(topic) for topic in plan.topics]
    acked = bytearray(total)
    acked_count = 0
    cpu0 = time.process_time()
    t0 = time.monotonic()
    shared[START] = time.time()
    shared[PHASE] = PUBLISHING
    sent, lag_max, late = 0, 0.0, 0
    next_burst = t0  # bursts at least TICK apart, even when PUBACKs wake us sooner
    drain_until = None
    while True:
        now = time.monotonic()
        due = min(pacer.due(now - t0), sent + MAX_BURST)
        backed_up = any(len(c.outbox) > OUTBOX_LIMIT for c in conns)  # the broker is not keeping up
        if sent < due and now >= next_burst and not backed_up:
            next_burst = now + TICK
            lag_max = max(lag_max, now - t0 - pacer.time_of(sent))
            # messages of this burst due more than 10 ms ago (the publisher fell behind its schedule)
            late += max(0, min(due, math.ceil((now - t0 - 0.01) * plan.rate)) - sent)
            _publish_burst(conns, topic_fields, plan.boot, sent, due)
            sent = due
            if sent == total:
                shared[END] = time.time()
                shared[PHASE] = DRAINING
                drain_until = time.monotonic() + plan.drain_s
        shared[OFFERED] = sent
        shared[ACKED] = acked_count
        shared[LAG_MAX] = lag_max
        if drain_until is not None and (acked_count == total or time.monotonic() > drain_until):
            break
        # Sleep until the next message is due and TICK has passed since the last burst (PUBACKs may wake us
        # sooner): writing in small bursts costs far less CPU than one write per message, and 2 ms is well
        # below the latencies measured.
        now = time.monotonic()
        wait = 0.05 if sent >= total else min(0.05, max(next_burst - now, pacer.time_of(sent) - (now - t0), 0))
        acked_count += _service(conns, wait, acked)
    cpu = time.process_time() - cpu0
    return {
        "published": sent,
        "acked_count": acked_count,
        "acked": bytes(acked),
        "start_wall": shared[START],
        "end_wall": shared[END],
        "cpu_s": round(cpu, 2),
        "lag_max_ms": round(lag_max * 1000, 1),
        "late_10ms": late,
        "mid_clash": sum(c.mid_clash for c in conns),
        "refused": sum(c.refused for c in conns),
        "connections": len(conns),
    }


# -- the denominator: one Python subscriber's raw receive rate ---------------------------------------
def raw_subscriber_main(target: MqttTarget, topic: str, expected: int, ready, conn, idle_s: float = 15.0) -> None:
    """One paho subscriber (QoS 1, MQTT 3.1.1, clean session): count messages until ``expected`` arrived
    or none came for ``idle_s``; report first/last receive times (monotonic, comparable across processes)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    client = _client(target, f"civic-bench-raw-sub-{os.getpid()}")
    st = {"count": 0, "first": 0.0, "last": 0.0, "dup": 0, "refused": ""}

    def on_connect(c, _u, _f, reason_code, _p):
        if reason_code.is_failure:
            st["refused"] = str(reason_code)
        else:
            c.subscribe(topic, 1)

    def on_subscribe(_c, _u, _mid, reason_codes, _p):
        if any(rc.is_failure for rc in reason_codes):
            st["refused"] = f"subscription refused: {reason_codes}"
        ready.set()

    def on_message(_c, _u, msg):
        t = time.monotonic()
        if not st["count"]:
            st["first"] = t
        st["last"] = t
        st["count"] += 1
        st["dup"] += msg.dup

    client.on_connect, client.on_subscribe, client.on_message = on_connect, on_subscribe, on_message
    try:
        client.connect(target.host, target.port, keepalive=60)
        cpu0 = time.process_time()
        started = time.monotonic()
        while st["count"] < expected and not st["refused"]:
            client.loop(0.5)
            quiet_since = st["last"] or started
            if time.monotonic() - quiet_since > idle_s:
                break
        cpu = time.process_time() - cpu0
        client.disconnect()
    except Exception as exc:
        st["refused"] = f"{type(exc).__name__}: {exc}"
        cpu = 0.0
    ready.set()
    conn.send({**st, "cpu_s": round(cpu, 2)})


def flood_with_mosquitto_pub(binary: str, target: MqttTarget, topic: str, lines: bytes) -> subprocess.Popen:
    """Publish each line of ``lines`` at QoS 1 as fast as mosquitto_pub goes (a C client: its CPU is small).

    stdin stays open until the caller closes it: mosquitto_pub can exit at end of input before everything
    was sent (pipeline-facts.md), so the caller closes it only once the subscriber has counted them all.
    """
    args = [binary, "-h", target.host, "-p", str(target.port), "-t", topic, "-q", "1", "-V", "mqttv311"]
    args += ["-l", "-M", "1000", "--quiet", "-i", f"civic-bench-flood-{os.getpid()}"]
    if target.username:
        args += ["-u", target.username]
    if target.password:
        args += ["-P", target.password]
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def feed():
        try:
            proc.stdin.write(lines)
            proc.stdin.flush()
        except (BrokenPipeError, ValueError):
            pass

    threading.Thread(target=feed, daemon=True).start()
    return proc
