"""Simulated berth sensors and air stations: one MQTT connection per device, all driven from one thread.

Each device is its own paho client (own client id, last will, ``boot``/``seq``) like the real hardware, but
with ~950 devices a thread per client would be wasteful, so one ``selectors`` loop drives every socket
through paho's external-loop API (``socket()``, ``loop_read()``, ``loop_write()``, ``loop_misc()``).
"""

from __future__ import annotations

import logging
import random
import selectors
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from zoneinfo import ZoneInfo

import paho.mqtt.client as paho

from config.settings import MqttTarget
from config.topics import DeviceKind, Topics
from sensors.device import Identity, Message, Sensor, choose_devices, device_time
from sensors.faults import NO_FAULTS, SimulationFaults, choose_silent, decide, malformed_class
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
    """Running totals; ``seconds`` is the publishing phase only, so published/seconds is the achieved rate.

    ``published`` and ``acked`` count distinct valid readings (by identity), sent and PUBACKed. Fault
    injection is counted apart: ``duplicates`` extra copies sent, ``reordered`` readings sent after a newer
    one, ``malformed`` malformed messages sent (per class in ``malformed_by_class``), ``reboots`` boot bumps,
    ``silent_devices`` connected devices that never publish.
    """

    published: int = 0
    acked: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    devices: int = 0
    seconds: float = 0.0
    duplicates: int = 0
    reordered: int = 0
    malformed: int = 0
    malformed_by_class: dict[str, int] = field(default_factory=dict)
    reboots: int = 0
    silent_devices: int = 0

    def snapshot(self, seconds: float) -> SimulationReport:
        """A copy for a progress callback, so the caller never sees totals change under it."""
        return replace(
            self, by_kind=dict(self.by_kind), malformed_by_class=dict(self.malformed_by_class), seconds=seconds
        )


@dataclass(eq=False)
class _Device:
    """One simulated device's connection: its MQTT client, its topics and the messages awaiting PUBACK."""

    sensor: Sensor
    client: paho.Client
    topic: str
    status_topic: str
    connected: bool = False
    sock: object | None = None  # the socket registered with the selector, if any
    events: int = 0  # selector events currently registered (0: not registered)
    readings: dict[int, Identity] = field(default_factory=dict)  # mid -> identity of valid readings sent
    extras: set[int] = field(default_factory=set)  # mids of duplicate copies and malformed messages
    statuses: set[int] = field(default_factory=set)  # mids of status messages awaiting PUBACK

    @property
    def spec(self) -> DeviceSpec:
        return self.sensor.spec


class _Simulation:
    """State of one run: the devices, the selector over their sockets and the report being built."""

    def __init__(
        self,
        mqtt_target: MqttTarget,
        district: District,
        topics: Topics,
        seed: int,
        prefix: str,
        faults: SimulationFaults | None = None,
        record_ids: list | None = None,
    ):
        self.target = mqtt_target
        self.district = district
        self.topics = topics
        self.prefix = prefix
        self.rng = random.Random(seed)
        # Faults draw from their own stream: switching them on does not change the values devices report.
        self.faults = faults if faults is not None and faults.enabled else None
        self.fault_rng = random.Random(f"faults:{seed}")
        self.record_ids = record_ids
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
        self.target.configure(client)  # credentials, and TLS for mqtts://
        status_topic = self.topics.device_status(spec.id)
        client.will_set(status_topic, OFFLINE, qos=1, retain=True)
        pollutants = tuple(self._station(spec.station_id).get("pollutants", ()))
        sensor = Sensor.create(spec, self.rng, boot=self.boot, local=datetime.now(self.tz), pollutants=pollutants)
        dev = _Device(sensor=sensor, client=client, topic=self._reading_topic(spec), status_topic=status_topic)
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
        """Count PUBACKs of valid readings (a duplicate's copy is not counted again); statuses apart."""
        identity = dev.readings.pop(mid, None)
        if identity is not None:
            self.report.acked += 1
            if self.record_ids is not None:
                self.record_ids.append((dev.spec.id, *identity))
        else:
            dev.extras.discard(mid)
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

    def publish_reading(self, dev: _Device) -> None:
        """Publish the device's next reading (QoS 1), with whatever faults this slot draws."""
        now, ts = device_time()
        plan = decide(self.fault_rng, self.faults) if self.faults else NO_FAULTS
        self.report.reboots += plan.reboot
        cls = malformed_class(self.report.malformed)
        for message in dev.sensor.turn(plan, self.rng, ts, now.astimezone(self.tz), malformed=cls):
            self._send(dev, message)

    def release_held(self) -> None:
        """Send the readings still held back once publishing stops."""
        for dev in self.devices:
            for message in dev.sensor.release():
                if dev.connected:
                    self._send(dev, message)

    def _send(self, dev: _Device, message: Message) -> None:
        """Publish one message and count it: distinct valid readings apart from injected faults."""
        info = dev.client.publish(dev.topic, message.payload, qos=1)
        self.sync(dev)
        if info.rc != paho.MQTT_ERR_SUCCESS:
            return
        r = self.report
        if message.identity is None or message.copy:
            dev.extras.add(info.mid)  # awaited, but its PUBACK acknowledges no new reading
            if message.copy:
                r.duplicates += 1
            else:
                r.malformed += 1
                cls = str(message.malformed)
                r.malformed_by_class[cls] = r.malformed_by_class.get(cls, 0) + 1
            return
        dev.readings[info.mid] = message.identity
        kind = str(dev.spec.kind)
        r.published += 1
        r.by_kind[kind] = r.by_kind.get(kind, 0) + 1
        r.reordered += message.late

    def _publish_status(self, dev: _Device, status: str) -> None:
        info = dev.client.publish(dev.status_topic, status, qos=1, retain=True)
        if info.rc == paho.MQTT_ERR_SUCCESS:
            dev.statuses.add(info.mid)
        self.sync(dev)

    def publish_for(self, rate: float, duration: float, stop: threading.Event, tick: Callable[[], None]) -> None:
        """Publish readings round-robin over connected devices at ``rate`` per second for ``duration`` seconds.

        Silent devices keep their connection but get no turn, so the others still make up the whole rate.
        """
        linked = [d for d in self.devices if d.connected]
        if not linked:
            return
        active = [d for d in linked if not d.sensor.silent]
        started = time.monotonic()
        attempts, turn = 0, 0
        while not stop.is_set():
            elapsed = time.monotonic() - started
            if elapsed >= duration:
                break
            # Publish what the schedule says is due, but cap a catch-up burst so reads still get serviced.
            due = min(int(elapsed * rate) + 1 - attempts, max(1, int(rate * MAX_BURST)))
            for _ in range(max(0, due)):
                attempts += 1
                if active:
                    dev = active[turn % len(active)]
                    turn += 1
                    if dev.connected:
                        self.publish_reading(dev)
            if not any(d.connected for d in linked):
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
    faults: SimulationFaults | None = None,
    record_ids: list | None = None,
) -> SimulationReport:
    """Connect the chosen devices, publish readings at ``rate``/s for ``duration`` s, then shut down cleanly.

    ``faults`` injects duplicates, reordering, malformed messages, silent devices and reboots, all drawn
    from the seed. When ``record_ids`` is a list, ``(device_id, boot, seq)`` of every PUBACKed valid reading
    is appended to it. Raises ConnectionError when no device can connect to the broker at all.
    """
    if rate <= 0 or duration < 0:
        raise ValueError(f"rate must be > 0 and duration >= 0, got rate={rate}, duration={duration}")
    stop = stop or threading.Event()
    sim = _Simulation(mqtt, district, topics, seed, client_id_prefix, faults, record_ids)
    for spec in choose_devices(district, seed=seed, max_devices=max_devices, kinds=kinds):
        sim.add_device(spec)
    if sim.faults:
        silent = choose_silent(sim.fault_rng, [d.spec.id for d in sim.devices], sim.faults.silent_rate)
        for dev in sim.devices:
            dev.sensor.silent = dev.spec.id in silent
    state = {"next_progress": 0.0, "next_misc": time.monotonic() + 1.0, "started": None}

    def tick() -> None:
        """Once a second: keepalives, and a progress snapshot for the caller."""
        now = time.monotonic()
        if now >= state["next_misc"]:
            state["next_misc"] = now + 1.0
            sim.housekeeping()
        if progress and state["started"] is not None and now >= state["next_progress"]:
            state["next_progress"] = now + 1.0
            progress(sim.report.snapshot(now - state["started"]))

    try:
        sim.connect_all(stop)
        sim.report.devices = sum(d.connected for d in sim.devices)
        sim.report.silent_devices = sum(d.connected and d.sensor.silent for d in sim.devices)
        state["started"] = state["next_progress"] = time.monotonic()
        sim.publish_for(rate, duration, stop, tick)
        sim.release_held()
        sim.report.seconds = time.monotonic() - state["started"]
        if not sim.wait_for(
            lambda: any((d.readings or d.extras) and d.connected for d in sim.devices), DRAIN_WAIT, tick
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
    if sim.faults:
        log.info(
            "faults: %d duplicates, %d reordered, %d malformed, %d reboots, %d silent devices",
            r.duplicates,
            r.reordered,
            r.malformed,
            r.reboots,
            r.silent_devices,
        )
    return sim.report
