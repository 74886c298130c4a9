"""Simulated berth sensors and air stations: one MQTT connection per device, all driven from one thread.

Each device is its own paho client (own client id, last will, ``boot``/``seq``) like the real hardware, but
with ~950 devices a thread per client would be wasteful, so one ``selectors`` loop drives every socket
through paho's external-loop API (``socket()``, ``loop_read()``, ``loop_write()``, ``loop_misc()``).
"""

from __future__ import annotations

import json
import logging
import random
import selectors
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import paho.mqtt.client as paho

from config.settings import MqttTarget
from config.topics import DeviceKind, Topics
from sensors.values import air_reading, initial_occupied, next_occupied
from services.district.loader import DeviceSpec, District

log = logging.getLogger(__name__)

KEEPALIVE = 60
CONNECT_WAIT = 30.0  # seconds to wait for all CONNACKs after the last TCP connect
DRAIN_WAIT = 10.0  # seconds to wait for PUBACKs of readings once publishing stops
STATUS_WAIT = 5.0  # seconds to wait for PUBACKs of the final "offline" statuses
GIVE_UP_AFTER = 3  # failed TCP connects, before any succeeded, that mean the broker is unreachable
PUMP_EVERY = 50  # TCP connects between two passes of the read loop, so CONNACKs don't pile up unread
MAX_BURST = 0.1  # after a stall, catch up at most this many seconds' worth of messages per loop pass
ONLINE, OFFLINE = "online", "offline"


@dataclass
class SimulationReport:
    """Running totals; ``seconds`` is the publishing phase only, so published/seconds is the achieved rate."""

    published: int = 0
    acked: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    devices: int = 0
    seconds: float = 0.0


@dataclass(eq=False)
class _Device:
    """One simulated device: its MQTT client, its topics and what it last reported."""

    spec: DeviceSpec
    client: paho.Client
    topic: str
    status_topic: str
    pollutants: tuple[str, ...] = ()
    seq: int = 0
    occupied: bool = False
    air_state: dict[str, float] = field(default_factory=dict)
    battery: float | None = None
    rssi: int = -80
    connected: bool = False
    sock: object | None = None  # the socket registered with the selector, if any
    events: int = 0  # selector events currently registered (0: not registered)
    readings: set[int] = field(default_factory=set)  # mids of readings awaiting PUBACK
    statuses: set[int] = field(default_factory=set)  # mids of status messages awaiting PUBACK


def choose_devices(
    district: District, *, seed: int, max_devices: int | None, kinds: set[str] | None
) -> list[DeviceSpec]:
    """Devices to simulate: air stations first (so both kinds appear), then berths in a seeded shuffle."""
    wanted = [d for d in district.devices if kinds is None or d.kind in kinds]
    air = [d for d in wanted if d.kind is DeviceKind.AIR_STATION]
    others = [d for d in wanted if d.kind is not DeviceKind.AIR_STATION]
    random.Random(seed).shuffle(others)
    chosen = air + others
    return chosen if max_devices is None else chosen[:max_devices]


def _iso_now() -> tuple[datetime, str]:
    """Current UTC time and its ISO 8601 form with milliseconds and offset, as devices send it."""
    now = datetime.now(UTC)
    return now, now.isoformat(timespec="milliseconds")


class _Simulation:
    """State of one run: the devices, the selector over their sockets and the report being built."""

    def __init__(self, mqtt_target: MqttTarget, district: District, topics: Topics, seed: int, prefix: str):
        self.target = mqtt_target
        self.district = district
        self.topics = topics
        self.prefix = prefix
        self.rng = random.Random(seed)
        self.tz = ZoneInfo(district.raw.get("district", {}).get("timezone", "Asia/Shanghai"))
        # A restarted simulator must look like rebooted devices, so boot is the start time, not a constant.
        self.boot = int(time.time())
        self.selector = selectors.DefaultSelector()
        self.report = SimulationReport()
        self.devices: list[_Device] = []
        self.answered = 0  # CONNACKs received, accepted or refused
        self.stopping = False

    # --- devices and callbacks ---------------------------------------------------------------------------

    def add_device(self, spec: DeviceSpec) -> _Device:
        """Create the device's client with its last will; nothing is sent yet."""
        client = paho.Client(
            paho.CallbackAPIVersion.VERSION2,
            client_id=self.prefix + spec.id,
            protocol=paho.MQTTv311,
            clean_session=True,
        )
        if self.target.username:
            client.username_pw_set(self.target.username, self.target.password)
        status_topic = self.topics.device_status(spec.id)
        client.will_set(status_topic, OFFLINE, qos=1, retain=True)
        dev = _Device(spec=spec, client=client, topic=self._reading_topic(spec), status_topic=status_topic)
        if spec.kind is DeviceKind.AIR_STATION:
            dev.pollutants = tuple(self._station(spec.station_id).get("pollutants", ()))
            dev.rssi = self.rng.randint(-75, -50)  # mains-powered, wired or good cellular
        else:
            local = datetime.now(self.tz)
            dev.occupied = initial_occupied(self.rng, local)
            dev.battery = round(self.rng.uniform(40.0, 100.0), 1)  # battery-powered NB-IoT magnetometer
            dev.rssi = self.rng.randint(-115, -70)
        client.user_data_set(dev)
        client.on_connect = self._on_connect
        client.on_publish = self._on_publish
        client.on_disconnect = self._on_disconnect
        self.devices.append(dev)
        return dev

    def _reading_topic(self, spec: DeviceSpec) -> str:
        if spec.kind is DeviceKind.AIR_STATION:
            return self.topics.air_reading(spec.station_id)
        return self.topics.parking_state(spec.facility_id, spec.berth_id)

    def _station(self, station_id: str | None) -> dict:
        return next((s for s in self.district.stations if s["id"] == station_id), {})

    def _on_connect(self, client, dev: _Device, flags, reason_code, properties) -> None:
        """Announce the device online (retained) once the broker accepts it."""
        self.answered += 1
        if reason_code.is_failure:
            log.warning("broker refused %s: %s", dev.spec.id, reason_code)
            return
        dev.connected = True
        self._publish_status(dev, ONLINE)

    def _on_publish(self, client, dev: _Device, mid, reason_code, properties) -> None:
        """Count PUBACKs of readings; status messages are tracked separately."""
        if mid in dev.readings:
            dev.readings.discard(mid)
            self.report.acked += 1
        else:
            dev.statuses.discard(mid)

    def _on_disconnect(self, client, dev: _Device, flags, reason_code, properties) -> None:
        if dev.connected and not self.stopping:
            log.warning("%s lost its connection: %s", dev.spec.id, reason_code)
        dev.connected = False

    # --- the socket loop ---------------------------------------------------------------------------------

    def sync(self, dev: _Device) -> None:
        """Make the selector watch what this client needs now: reads always, writes while bytes are queued."""
        sock = dev.client.socket()
        want = 0 if sock is None else selectors.EVENT_READ | (selectors.EVENT_WRITE if dev.client.want_write() else 0)
        if want == dev.events and sock is dev.sock:
            return
        if dev.events:
            # paho may already have closed it; selectors then finds the key by identity, and epoll drops it itself.
            self.selector.unregister(dev.sock)
        if want:
            self.selector.register(sock, want, dev)
        dev.sock, dev.events = (sock if want else None), want

    def pump(self, timeout: float) -> None:
        """Wait up to ``timeout`` for socket activity and let each ready client read and write."""
        if not self.selector.get_map():
            time.sleep(timeout)  # nothing to watch; epoll would sleep too, but select() on no fds may not
            return
        for key, events in self.selector.select(timeout):
            dev: _Device = key.data
            if events & selectors.EVENT_READ:
                dev.client.loop_read()
            if events & selectors.EVENT_WRITE and dev.client.socket() is not None:
                dev.client.loop_write()
            self.sync(dev)

    def housekeeping(self) -> None:
        """Keepalive pings and timeouts, about once a second (``loop_misc`` is cheap)."""
        for dev in self.devices:
            if dev.client.socket() is not None:
                dev.client.loop_misc()
                self.sync(dev)

    # --- phases ------------------------------------------------------------------------------------------

    def connect_all(self, stop: threading.Event) -> None:
        """Open every device's connection (blocking TCP connect, one by one) and wait for the CONNACKs."""
        started, attempted, failed = time.monotonic(), 0, 0
        for i, dev in enumerate(self.devices, 1):
            if stop.is_set():
                break
            try:
                dev.client.connect(self.target.host, self.target.port, keepalive=KEEPALIVE)
            except OSError as exc:
                failed += 1
                log.log(
                    logging.WARNING if failed == 1 else logging.DEBUG,
                    "cannot connect %s to %s:%s: %s",
                    dev.spec.id,
                    self.target.host,
                    self.target.port,
                    exc,
                )
                # Connects are sequential and may each wait for a timeout: don't retry a dead broker 950 times.
                if failed >= GIVE_UP_AFTER and attempted == 0:
                    raise ConnectionError(f"cannot reach MQTT broker {self.target.host}:{self.target.port}") from exc
                continue
            attempted += 1
            self.sync(dev)
            if i % PUMP_EVERY == 0:
                self.pump(0)
        deadline = time.monotonic() + CONNECT_WAIT
        while self.answered < attempted and time.monotonic() < deadline and not stop.is_set():
            self.pump(0.1)
        connected = sum(d.connected for d in self.devices)
        log.info(
            "%d of %d devices connected in %.2f s (%d TCP connects failed)",
            connected,
            len(self.devices),
            time.monotonic() - started,
            failed,
        )
        if self.devices and not connected and not stop.is_set():
            raise ConnectionError(f"no device could connect to MQTT broker {self.target.host}:{self.target.port}")

    def publish_reading(self, dev: _Device) -> bool:
        """Publish the device's next reading (QoS 1); False when the client would not take it."""
        now, ts = _iso_now()
        body: dict[str, object] = {"boot": self.boot, "seq": dev.seq + 1, "ts": ts, "rssi": self._rssi(dev)}
        if dev.battery is not None:
            dev.battery = max(0.0, round(dev.battery - 0.01, 2))  # exaggerated drain so it visibly moves
            body["battery"] = round(dev.battery, 1)
        local = now.astimezone(self.tz)
        if dev.spec.kind is DeviceKind.AIR_STATION:
            body.update(air_reading(self.rng, dev.pollutants, local, dev.air_state))
        else:
            dev.occupied = next_occupied(self.rng, dev.occupied, local)
            body["occupied"] = dev.occupied
        info = dev.client.publish(dev.topic, json.dumps(body, separators=(",", ":")), qos=1)
        self.sync(dev)
        if info.rc != paho.MQTT_ERR_SUCCESS:
            return False
        dev.seq += 1
        dev.readings.add(info.mid)
        kind = str(dev.spec.kind)
        self.report.published += 1
        self.report.by_kind[kind] = self.report.by_kind.get(kind, 0) + 1
        return True

    def _rssi(self, dev: _Device) -> int:
        """Signal strength jitters a few dB around the device's own level."""
        return max(-150, min(0, dev.rssi + self.rng.randint(-3, 3)))

    def _publish_status(self, dev: _Device, status: str) -> None:
        info = dev.client.publish(dev.status_topic, status, qos=1, retain=True)
        if info.rc == paho.MQTT_ERR_SUCCESS:
            dev.statuses.add(info.mid)
        self.sync(dev)

    def publish_for(self, rate: float, duration: float, stop: threading.Event, tick: Callable[[], None]) -> None:
        """Publish readings round-robin over connected devices at ``rate`` per second for ``duration`` seconds."""
        active = [d for d in self.devices if d.connected]
        if not active:
            return
        started = time.monotonic()
        attempts, turn = 0, 0
        while not stop.is_set():
            elapsed = time.monotonic() - started
            if elapsed >= duration:
                break
            # Publish what the schedule says is due, but cap a catch-up burst so reads still get serviced.
            due = min(int(elapsed * rate) + 1 - attempts, max(1, int(rate * MAX_BURST)))
            for _ in range(max(0, due)):
                dev = active[turn % len(active)]
                turn += 1
                attempts += 1
                if dev.connected:
                    self.publish_reading(dev)
            if not any(d.connected for d in active):
                log.error("every device has lost its connection; stopping early")
                break
            tick()
            wait = (attempts / rate) - (time.monotonic() - started)
            self.pump(min(max(wait, 0.0), 0.05))

    def wait_for(self, pending: Callable[[], bool], seconds: float, tick: Callable[[], None]) -> bool:
        """Keep the sockets going until ``pending()`` is False or ``seconds`` pass; True if it settled."""
        deadline = time.monotonic() + seconds
        while pending():
            if time.monotonic() >= deadline:
                return False
            self.pump(0.05)
            tick()
        return True

    def shut_down(self, tick: Callable[[], None]) -> None:
        """Say offline (retained), wait for those PUBACKs, then disconnect cleanly so no last will fires."""
        self.stopping = True
        for dev in self.devices:
            if dev.connected:
                self._publish_status(dev, OFFLINE)
        if not self.wait_for(lambda: any(d.statuses and d.connected for d in self.devices), STATUS_WAIT, tick):
            log.warning("some offline statuses were not acknowledged within %.0f s", STATUS_WAIT)
        for dev in self.devices:
            if dev.client.socket() is not None:
                dev.client.disconnect()  # with no loop thread paho writes DISCONNECT and closes right away
                if dev.client.want_write() and dev.client.socket() is not None:
                    dev.client.loop_write()
            self.sync(dev)
        self.selector.close()


def run_simulation(
    mqtt: MqttTarget,
    district: District,
    topics: Topics,
    *,
    rate: float = 50.0,
    duration: float = 10.0,
    seed: int = 1,
    max_devices: int | None = None,
    kinds: set[str] | None = None,
    client_id_prefix: str = "",
    progress: Callable[[SimulationReport], None] | None = None,
    stop: threading.Event | None = None,
) -> SimulationReport:
    """Connect the chosen devices, publish readings at ``rate``/s for ``duration`` s, then shut down cleanly.

    Raises ConnectionError when no device can connect to the broker at all.
    """
    if rate <= 0 or duration < 0:
        raise ValueError(f"rate must be > 0 and duration >= 0, got rate={rate}, duration={duration}")
    stop = stop or threading.Event()
    sim = _Simulation(mqtt, district, topics, seed, client_id_prefix)
    for spec in choose_devices(district, seed=seed, max_devices=max_devices, kinds=kinds):
        sim.add_device(spec)
    state = {"next_progress": 0.0, "next_misc": time.monotonic() + 1.0, "started": None}

    def tick() -> None:
        """Once a second: keepalives, and a progress snapshot for the caller."""
        now = time.monotonic()
        if now >= state["next_misc"]:
            state["next_misc"] = now + 1.0
            sim.housekeeping()
        if progress and state["started"] is not None and now >= state["next_progress"]:
            state["next_progress"] = now + 1.0
            progress(replace(sim.report, by_kind=dict(sim.report.by_kind), seconds=now - state["started"]))

    try:
        sim.connect_all(stop)
        sim.report.devices = sum(d.connected for d in sim.devices)
        state["started"] = state["next_progress"] = time.monotonic()
        sim.publish_for(rate, duration, stop, tick)
        sim.report.seconds = time.monotonic() - state["started"]
        if not sim.wait_for(
            lambda: sim.report.acked < sim.report.published and any(d.readings and d.connected for d in sim.devices),
            DRAIN_WAIT,
            tick,
        ):
            log.warning(
                "%d readings still unacknowledged after %.0f s", sim.report.published - sim.report.acked, DRAIN_WAIT
            )
    finally:
        sim.shut_down(tick)
    r = sim.report
    log.info(
        "published %d readings (%d acked) from %d devices in %.1f s: %.0f/s",
        r.published,
        r.acked,
        r.devices,
        r.seconds,
        r.published / r.seconds if r.seconds else 0.0,
    )
    return sim.report
