"""A sustained, paced QoS 1 load for the fault tests: one process publishing berth readings at a fixed rate.

Unlike the bench's publisher (bench/clients.py) it runs until told to stop and rides out a broker restart:
paho reconnects and re-sends what was unacknowledged, and messages published meanwhile wait in paho's
queue, as a device buffers. Each message's PUBACK is recorded by its index, so the test can compare
what the database holds with what the broker acknowledged, identity by identity (bench/stats.py).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import threading
import time
from dataclasses import dataclass

import paho.mqtt.client as mqtt

from bench.clients import payload
from bench.stats import Tally, identity_of, index_of, tally
from config.settings import MqttTarget

FACILITY = "P-ZIYANGLI"  # berths 001..150 all have a sensor in the district file
BERTHS = 150
SENT, ACKED = range(2)


def berth_topic(n: int) -> str:
    return f"heping/parking/{FACILITY}/{FACILITY}-{n:03d}/state"


def device_index(device_id: str) -> int:
    """S-P-ZIYANGLI-007 → 6: the publisher's device index of a stored row."""
    return int(device_id.rsplit("-", 1)[1]) - 1


@dataclass(frozen=True)
class LoadPlan:
    target: MqttTarget
    boot: int  # one boot per load: its rows are told apart from every other load's by (device, boot, seq)
    rate: float
    connections: int = 2
    drain_s: float = 20.0  # after stop, how long to wait for outstanding PUBACKs


class SustainedLoad:
    """Start with ``start()``; ``sent()``/``acked()`` are live; ``stop()`` drains and returns the PUBACK map."""

    def __init__(self, plan: LoadPlan):
        self.plan = plan
        ctx = mp.get_context("spawn")  # not fork: the test process holds database and Redis connections
        self._shared = ctx.Array("q", 2, lock=False)
        self._stop, self._ready = ctx.Event(), ctx.Event()
        self._parent, child = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(target=_main, args=(plan, self._shared, self._stop, self._ready, child), daemon=True)
        self.acked_map: bytes = b""
        self.report: dict = {}

    def start(self, timeout: float = 20.0) -> SustainedLoad:
        self._proc.start()
        if not self._ready.wait(timeout):
            self.kill()
            raise RuntimeError("the load publisher did not connect")
        return self

    def sent(self) -> int:
        return self._shared[SENT]

    def acked(self) -> int:
        return self._shared[ACKED]

    def stop(self) -> dict:
        """Stop publishing, wait for the PUBACKs still due, and return the publisher's report."""
        self._stop.set()
        if self._parent.poll(self.plan.drain_s + 15):
            self.report = self._parent.recv()
        self._proc.join(5)
        self.kill()
        if "error" in self.report or not self.report:
            raise RuntimeError(f"load publisher failed: {self.report or 'no report'}")
        self.acked_map = self.report.pop("acked")
        return self.report

    def kill(self) -> None:
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join(5)

    def tally(self, stored: list[tuple[str, int]]) -> Tally:
        """Compare the stored (device_id, seq) rows of this load's boot with the PUBACKed messages."""
        published = len(self.acked_map)
        return tally(published, self.acked_map, (index_of(device_index(d), seq, BERTHS) for d, seq in stored))


def _main(plan: LoadPlan, shared, stop, ready, conn) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the test decides when we stop
    try:
        conn.send(_publish(plan, shared, stop, ready))
    except Exception as exc:  # report, never hang the test
        conn.send({"error": f"{type(exc).__name__}: {exc}"})


def _publish(plan: LoadPlan, shared, stop, ready) -> dict:
    # A PUBACK can arrive before publish() returns its mid: such a mid waits in ``early``. The lock is
    # never held across publish(): paho calls on_publish holding its own locks, which publish() takes.
    lock = threading.Lock()
    acked = bytearray()
    inflight: list[dict[int, int]] = [{} for _ in range(plan.connections)]  # per connection: mid -> index
    early: list[set[int]] = [set() for _ in range(plan.connections)]
    state = {"acked": 0, "connects": 0}
    clients = []
    for n in range(plan.connections):
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=f"fault-load-{os.getpid()}-{n}", protocol=mqtt.MQTTv311
        )
        if plan.target.username:
            client.username_pw_set(plan.target.username, plan.target.password)
        client.max_inflight_messages_set(0)  # pacing alone sets the rate
        client.max_queued_messages_set(0)
        client.reconnect_delay_set(0.2, 1)

        def on_publish(_c, _u, mid, _rc, _p, m=inflight[n], e=early[n]):
            with lock:
                i = m.pop(mid, None)
                if i is None:
                    e.add(mid)
                elif not acked[i]:
                    acked[i] = 1
                    state["acked"] += 1

        def on_connect(_c, _u, _f, reason_code, _p):
            if not reason_code.is_failure:
                state["connects"] += 1

        client.on_publish, client.on_connect = on_publish, on_connect
        client.connect_async(plan.target.host, plan.target.port, keepalive=30)
        client.loop_start()
        clients.append(client)
    deadline = time.monotonic() + 15
    while state["connects"] < len(clients):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{state['connects']}/{len(clients)} connections up after 15 s")
        time.sleep(0.05)
    ready.set()

    t0, sent = time.monotonic(), 0
    while not stop.is_set():
        due = int((time.monotonic() - t0) * plan.rate) + 1
        while sent < due:
            d, seq = identity_of(sent, BERTHS)
            c = d % len(clients)
            with lock:
                acked.append(0)
            info = clients[c].publish(berth_topic(d + 1), payload(plan.boot, seq, time.time()), qos=1)
            with lock:
                if info.mid in early[c]:
                    early[c].discard(info.mid)
                    acked[sent] = 1
                    state["acked"] += 1
                else:
                    inflight[c][info.mid] = sent
            sent += 1
        shared[SENT], shared[ACKED] = sent, state["acked"]
        time.sleep(0.005)
    drain_until = time.monotonic() + plan.drain_s
    while state["acked"] < sent and time.monotonic() < drain_until:
        shared[ACKED] = state["acked"]
        time.sleep(0.05)
    for client in clients:
        client.disconnect()
        client.loop_stop()
    shared[ACKED] = state["acked"]
    return {"published": sent, "acked_count": state["acked"], "acked": bytes(acked), "connects": state["connects"]}
