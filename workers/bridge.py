"""MQTT → Redis bridge: validate each message, batch per kind, enqueue one RQ job per batch, then ack.

At-least-once: a QoS 1 message is acknowledged only after the batch holding it is in Redis. If the
connection drops first, the broker redelivers it (persistent session) and the idempotent insert
makes the second copy harmless. The bridge never touches the database.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import signal
import socket
import threading
import time

import paho.mqtt.client as mqtt
from redis.exceptions import RedisError

from config.topics import DeviceKind, EventKind, shared
from services.devices.registry import read_registry
from services.events import bus
from services.pipeline import metrics
from services.pipeline.intake import STATUS, Accepted, Registry, Rejected, StatusUpdate, classify
from services.runtime import Runtime
from workers.batching import Batch, Batcher
from workers.mqtt_client import client_class
from workers.queueing import DEAD_LETTER_JOB, INGEST_JOBS, backlog_jobs, enqueue_batch

log = logging.getLogger(__name__)

DEAD_LETTER = "dead_letter"
DEAD_LETTER_PAYLOAD_LIMIT = 64 * 1024  # keep the evidence, not a hostile megabyte
REGISTRY_REFRESH_S = 5.0
HEARTBEAT_S = 5.0
BACKLOG_POLL_S = 0.2  # how often a held batch looks again whether the workers made room
HOLDING_MARK_S = 5  # /readyz and /metrics report backpressure until this long after the last hold
ACK_BARRIER_TOPIC = "civicpulse/bridge/ack-barrier"  # never subscribed: unsubscribing it changes nothing
ACK_BARRIER_S = 3.0


def default_client_id() -> str:
    return f"civic-bridge-{socket.gethostname()}"


class Bridge:
    def __init__(self, runtime: Runtime, client_id: str | None = None):
        self.rt = runtime
        s = runtime.settings
        self.client_id = client_id or s.bridge_client_id or default_client_id()
        self.batcher = Batcher(s.bridge_batch_size, s.bridge_batch_ms / 1000)
        self.lock = threading.RLock()
        self.registry = Registry()
        self.generation = 0  # bumps on every (re)connect: message ids are only valid on their connection
        self.stopping = threading.Event()
        self.connected = threading.Event()
        self._uids = itertools.count()
        self._uid_prefix = f"{self.client_id}-{time.time_ns()}"
        self.queue = runtime.queue()
        self.client = self._make_client()

    # -- MQTT ------------------------------------------------------------------------------------
    def _make_client(self) -> mqtt.Client:
        client = client_class()(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            clean_session=False,  # the broker keeps our subscription and unacked messages across restarts
            protocol=mqtt.MQTTv311,
            manual_ack=True,
        )
        self.rt.settings.mqtt.configure(client)  # credentials, and TLS for mqtts://
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message  # not message_callback_add: it never fires for $share/ (paho #472)
        client.reconnect_delay_set(min_delay=1, max_delay=10)
        return client

    def _on_connect(self, client, _userdata, _flags, reason_code, _properties):
        if reason_code.is_failure:
            log.error("broker refused the bridge: %s", reason_code)
            return
        with self.lock:
            self.generation += 1
        group = self.rt.settings.bridge_shared_group
        client.subscribe([(shared(f, group), 1) for f in self.rt.topics.subscriptions])
        self.connected.set()
        log.info("bridge %s connected; subscribed with group %r", self.client_id, group or None)

    def _on_disconnect(self, _client, _userdata, _flags, reason_code, _properties):
        self.connected.clear()
        if not self.stopping.is_set():
            log.warning("bridge lost the broker (%s); reconnecting", reason_code)

    def _on_message(self, _client, _userdata, msg: mqtt.MQTTMessage):
        wall, now = time.time(), time.monotonic()
        s = self.rt.settings
        outcome = classify(
            msg.topic,
            msg.payload,
            self.registry,
            district=s.district,
            max_payload=s.bridge_max_payload,
            received_at=wall,
        )
        ack = (self.generation, msg.mid) if msg.qos > 0 else None
        with self.lock:
            if self.stopping.is_set():
                return  # not taken (never acknowledged): the broker redelivers it to the next bridge
            key, item = self._bucket(outcome, msg, wall)
            if self.batcher.add(key, item, ack, now, wall):
                self._flush(key)

    def _bucket(self, outcome, msg: mqtt.MQTTMessage, wall: float) -> tuple[str, object]:
        if isinstance(outcome, Accepted):
            return str(outcome.kind), outcome.row
        if isinstance(outcome, StatusUpdate):
            return STATUS, {"device_id": outcome.device_id, "status": outcome.status, "received_at": wall}
        assert isinstance(outcome, Rejected)
        payload = bytes(msg.payload[:DEAD_LETTER_PAYLOAD_LIMIT])
        detail = outcome.detail
        if len(msg.payload) > DEAD_LETTER_PAYLOAD_LIMIT:
            detail += f" (payload kept: first {DEAD_LETTER_PAYLOAD_LIMIT} of {len(msg.payload)} bytes)"
        return DEAD_LETTER, {
            "uid": f"{self._uid_prefix}-{next(self._uids)}",
            "received_at": wall,
            "topic": msg.topic,
            "payload": payload,
            "reason": str(outcome.reason),
            "detail": detail,
            "kind": outcome.kind,
            "device_id": outcome.device_id,
        }

    # -- hand-off to Redis -----------------------------------------------------------------------
    def _flush(self, key: str) -> None:
        """Hand one batch to Redis (retrying until Redis takes it), then acknowledge its messages."""
        batch = self.batcher.take(key)
        if batch is None:
            return
        if key != STATUS and not self._wait_for_room(len(batch.items)):
            return  # stopping while held: never acknowledged, so the broker redelivers it to the next bridge
        delay = 0.5
        while True:
            try:
                pipe = self.rt.redis.pipeline(transaction=True)
                self._write(key, batch, pipe)
                pipe.execute()
                break
            except RedisError as exc:
                if self.stopping.is_set():
                    log.warning("Redis away while stopping (%s): %d messages unacknowledged", exc, len(batch.items))
                    return  # the broker redelivers them to the next bridge
                # Holding the lock here is the backpressure: no new message is taken while Redis is away.
                log.warning(
                    "Redis unavailable (%s); holding %d messages, retrying in %.1fs", exc, len(batch.items), delay
                )
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
        for generation, mid in batch.acks:
            if generation == self.generation:
                self.client.ack(mid, 1)

    def _wait_for_room(self, held: int) -> bool:
        """Backpressure: while BRIDGE_MAX_BACKLOG jobs wait in Redis, hold this batch unacknowledged.

        As while Redis is away, the lock stays held, so no message is taken meanwhile and the broker keeps
        the rest (its queues are unbounded: config/mosquitto/mosquitto.conf). False if stopped meanwhile.
        """
        limit = self.rt.settings.bridge_max_backlog
        held_since = None
        while limit > 0 and not self.stopping.is_set():
            try:
                backlog = backlog_jobs(self.queue)
            except RedisError:
                return True  # the write meets the same error and waits for Redis
            if backlog < limit:
                break
            if held_since is None:
                held_since = time.monotonic()
                log.warning("backpressure: %d ingest jobs wait (bound %d); holding %d messages", backlog, limit, held)
            with contextlib.suppress(RedisError):
                # A slow database makes the backlog hover at the bound; the mark keeps the state from flickering.
                self.rt.redis.set(self.rt.keys.bridge_holding, self.client_id, ex=HOLDING_MARK_S)
            time.sleep(BACKLOG_POLL_S)
        if held_since is None:
            return True
        log.info("backpressure over after %.1fs; taking messages again", time.monotonic() - held_since)
        return not self.stopping.is_set()

    def _write(self, key: str, batch: Batch, pipe) -> None:
        keys = self.rt.keys
        if key == DEAD_LETTER:
            enqueue_batch(self.queue, DEAD_LETTER_JOB, batch.items, pipeline=pipe)
            for item in batch.items:
                kind = item["kind"] or "unknown"
                metrics.count(pipe, keys, "civic_mqtt_received", kind=kind)
                metrics.count(pipe, keys, "civic_mqtt_rejected", kind=kind, reason=item["reason"])
        elif key == STATUS:
            latest = {i["device_id"]: i for i in batch.items}
            pipe.hset(keys.device_status, mapping={d: i["status"] for d, i in latest.items()})
            pipe.hset(keys.last_seen, mapping={d: i["received_at"] for d, i in latest.items()})
            events = ({"kind": str(EventKind.DEVICE_STATUS), **item} for item in latest.values())
            bus.announce(pipe, keys, events, self.rt.settings.events_replay_length)
            metrics.count(pipe, keys, "civic_mqtt_received", len(batch.items), kind=STATUS)
            metrics.count(pipe, keys, "civic_mqtt_accepted", len(batch.items), kind=STATUS)
        else:
            enqueue_batch(self.queue, INGEST_JOBS[DeviceKind(key)], batch.items, batch.first_received, pipeline=pipe)
            metrics.count(pipe, keys, "civic_mqtt_received", len(batch.items), kind=key)
            metrics.count(pipe, keys, "civic_mqtt_accepted", len(batch.items), kind=key)
            metrics.count(pipe, keys, "civic_batches_enqueued", kind=key)
        # After the enqueue: rq's enqueue on a pipeline WATCHes first, before any other command.
        metrics.count(pipe, keys, "civic_bridge_received", len(batch.items), bridge=self.client_id)

    def flush_due(self) -> None:
        with self.lock:
            for key in self.batcher.due(time.monotonic()):
                self._flush(key)

    def flush_all(self) -> None:
        with self.lock:
            for key in self.batcher.kinds():
                self._flush(key)

    # -- housekeeping ----------------------------------------------------------------------------
    def refresh_registry(self) -> None:
        try:
            fresh = read_registry(self.rt.redis, self.rt.keys)
        except RedisError as exc:
            log.warning("cannot refresh the device registry (%s); keeping %d devices", exc, len(self.registry))
            return
        if fresh or not self.registry:
            self.registry = fresh  # a whole new object: the message thread sees the old or the new, never half
        else:
            log.warning("device registry is empty in Redis; keeping the %d devices already known", len(self.registry))

    def heartbeat(self) -> None:
        with contextlib.suppress(RedisError):  # Redis being away is logged by the flush path
            self.rt.redis.set(self.rt.keys.heartbeat("bridge", self.client_id), time.time(), ex=int(HEARTBEAT_S * 3))

    def wait_for_registry(self) -> None:
        self.refresh_registry()
        while not self.registry and not self.stopping.is_set():
            log.warning("no devices registered yet (run `civic seed`); waiting")
            self.stopping.wait(REGISTRY_REFRESH_S)
            self.refresh_registry()

    def run(self) -> None:
        """Connect, then flush batches on time and keep the registry fresh until stopped."""
        self.wait_for_registry()
        target = self.rt.settings.mqtt
        self.client.connect_async(target.host, target.port, keepalive=30)
        self.client.loop_start()
        tick = max(0.01, min(0.05, self.batcher.max_age_s / 4))
        next_refresh = next_beat = 0.0
        try:
            while not self.stopping.is_set():
                self.stopping.wait(tick)
                self.flush_due()
                now = time.monotonic()
                if now >= next_refresh:
                    self.refresh_registry()
                    next_refresh = now + REGISTRY_REFRESH_S
                if now >= next_beat:
                    self.heartbeat()
                    next_beat = now + HEARTBEAT_S
        finally:
            self.flush_all()
            self._confirm_acks()
            self.client.disconnect()
            self.client.loop_stop()
            log.info("bridge %s stopped", self.client_id)

    def _confirm_acks(self) -> None:
        """Wait (briefly) until the broker has processed the acknowledgements just sent, before disconnecting.

        Messages keep arriving until the socket closes; closed with them unread, it resets the connection,
        and the broker can drop the acknowledgements still in its buffer and redeliver what is already in
        Redis. The broker handles a client's packets in order, so its answer to an UNSUBSCRIBE (of a filter
        we never had: the session keeps its subscriptions) comes after it took every earlier PUBACK.
        """
        if not self.connected.is_set():
            return
        answered = threading.Event()
        self.client.on_unsubscribe = lambda *_args: answered.set()
        result, _mid = self.client.unsubscribe(ACK_BARRIER_TOPIC)
        if result == mqtt.MQTT_ERR_SUCCESS and not answered.wait(ACK_BARRIER_S):
            log.warning("the broker did not confirm the last acks in %.0fs: it may redeliver some", ACK_BARRIER_S)

    def stop(self, *_args) -> None:
        self.stopping.set()


def run_bridge(runtime: Runtime, client_id: str | None = None) -> None:
    bridge = Bridge(runtime, client_id)
    signal.signal(signal.SIGTERM, bridge.stop)
    signal.signal(signal.SIGINT, bridge.stop)
    bridge.run()
