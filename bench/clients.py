"""The bench's MQTT clients, each run in a process of its own: the paced publisher and the raw subscriber.

The publisher is kept lean because its CPU competes with the platform's on a small machine: a few paho
connections driven from one thread through paho's external-loop API (no loop threads), a bytearray of
PUBACK flags instead of per-message objects, and a payload built with one f-string.
"""

from __future__ import annotations

import math
import os
import select
import signal
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


def payload(boot: int, seq: int, wall: float) -> bytes:
    """A berth reading; ``ts`` is the publish time, so the stored row's observed_at is its publish time.
    The berth changes state every fourth reading (a quarter of rows move a berth's status)."""
    ts = datetime.fromtimestamp(wall, UTC).isoformat(timespec="microseconds")
    occupied = "true" if (seq >> 2) & 1 else "false"
    return f'{{"boot":{boot},"seq":{seq},"ts":"{ts}","occupied":{occupied}}}'.encode()


def _client(target: MqttTarget, client_id: str, clean_session: bool = True) -> mqtt.Client:
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean_session, protocol=mqtt.MQTTv311
    )
    if target.username:
        client.username_pw_set(target.username, target.password)
    return client


def _connect_all(clients: list[mqtt.Client], target: MqttTarget) -> None:
    connected: set[int] = set()
    refused: list[str] = []
    for n, client in enumerate(clients):

        def on_connect(_c, _u, _f, reason_code, _p, n=n):
            (refused.append(str(reason_code)) if reason_code.is_failure else connected.add(n))

        client.on_connect = on_connect
        client.connect(target.host, target.port, keepalive=60)
    deadline = time.monotonic() + CONNECT_TIMEOUT
    while len(connected) < len(clients):
        if refused:
            raise RuntimeError(f"broker refused the publisher: {refused[0]}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"publisher: {len(connected)}/{len(clients)} connections acknowledged")
        for client in clients:
            client.loop(0.01)


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
    clients = [_client(plan.target, f"{plan.client_prefix}-{os.getpid()}-{n}") for n in range(k)]
    for client in clients:
        client.max_inflight_messages_set(0)  # no client-side limit: pacing alone sets the offered rate
    _connect_all(clients, plan.target)
    shared[PHASE] = READY
    while not go.wait(0.2):
        for client in clients:
            client.loop(0)  # answer pings while the platform starts

    pacer = Pacer(plan.rate, plan.duration)
    total, devices, topics, boot = pacer.total, len(plan.topics), plan.topics, plan.boot
    acked = bytearray(total)
    inflight: list[dict[int, int]] = [{} for _ in clients]  # per connection: mid -> message index
    state = {"acked": 0, "mid_clash": 0, "refused": 0}

    for n, client in enumerate(clients):

        def on_publish(_c, _u, mid, _rc, _p, m=inflight[n]):
            i = m.pop(mid, None)
            if i is not None:
                acked[i] = 1
                state["acked"] += 1

        client.on_publish = on_publish

    socks = {client.socket(): client for client in clients}
    cpu0 = time.process_time()
    t0 = time.monotonic()
    shared[START] = time.time()
    shared[PHASE] = PUBLISHING
    sent, lag_max, late, next_misc = 0, 0.0, 0, t0 + 1
    drain_until = None
    while True:
        now = time.monotonic()
        due = min(pacer.due(now - t0), sent + MAX_BURST)
        if sent < due:
            lag_max = max(lag_max, now - t0 - pacer.time_of(sent))
            # messages of this burst due more than 10 ms ago (the publisher fell behind its schedule)
            late += max(0, min(due, math.ceil((now - t0 - 0.01) * plan.rate)) - sent)
            while sent < due:
                d, seq = identity_of(sent, devices)
                c = d % k
                info = clients[c].publish(topics[d], payload(boot, seq, time.time()), qos=1)
                if info.rc != mqtt.MQTT_ERR_SUCCESS and info.rc != mqtt.MQTT_ERR_NO_CONN:
                    state["refused"] += 1
                if info.mid in inflight[c]:
                    state["mid_clash"] += 1
                inflight[c][info.mid] = sent
                sent += 1
            if sent == total:
                shared[END] = time.time()
                shared[PHASE] = DRAINING
                drain_until = time.monotonic() + plan.drain_s
        shared[OFFERED] = sent
        shared[ACKED] = state["acked"]
        shared[LAG_MAX] = lag_max
        if drain_until is not None and (state["acked"] == total or time.monotonic() > drain_until):
            break
        # Sleep until the next message is due, but at least TICK: writing in small bursts costs far less CPU
        # than waking once per message, and 2 ms is well below the latencies measured.
        wait = 0.05 if sent >= total else min(0.05, max(TICK, pacer.time_of(sent) - (time.monotonic() - t0)))
        writers = [s for s, client in socks.items() if client.want_write()]
        readable, writable, _ = select.select(list(socks), writers, [], wait)
        for s in readable:
            socks[s].loop_read()
        for s in writable:
            socks[s].loop_write()
        if now >= next_misc:
            for client in clients:
                client.loop_misc()  # keepalive
            next_misc = now + 1
    cpu = time.process_time() - cpu0
    for client in clients:
        client.disconnect()
        client.loop_write()
    shared[PHASE] = DONE
    return {
        "published": sent,
        "acked_count": state["acked"],
        "acked": bytes(acked),
        "start_wall": shared[START],
        "end_wall": shared[END],
        "cpu_s": round(cpu, 2),
        "lag_max_ms": round(lag_max * 1000, 1),
        "late_10ms": late,
        "mid_clash": state["mid_clash"],
        "refused": state["refused"],
        "connections": k,
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
