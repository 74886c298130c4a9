"""One simulated device's own state and what it says: its identity (boot, seq), readings, malformed messages.

No MQTT here: the simulator owns the connections and asks a ``Sensor`` for the bytes to publish.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from config.topics import DeviceKind
from sensors.faults import Malformed, ReadingFaults, encode, malformed_payload, next_identity
from sensors.values import air_reading, initial_occupied, next_occupied
from services.district.loader import DeviceSpec, District

Identity = tuple[int, int]  # (boot, seq)


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


def device_time() -> tuple[datetime, str]:
    """Current UTC time and its ISO 8601 form with milliseconds and offset, as devices send it."""
    now = datetime.now(UTC)
    return now, now.isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Message:
    """One message to publish on the device's reading topic.

    ``identity`` is the (boot, seq) of a valid reading, None for a malformed one (then ``malformed`` names
    its class). ``copy`` marks the second copy of a duplicated reading, ``late`` one sent after a newer one.
    """

    payload: bytes
    identity: Identity | None = None
    malformed: Malformed | None = None
    copy: bool = False
    late: bool = False


@dataclass(eq=False)
class Sensor:
    """A berth magnetometer or an air station: what it measures and what it last reported."""

    spec: DeviceSpec
    boot: int
    pollutants: tuple[str, ...] = ()
    seq: int = 0
    occupied: bool = False
    air_state: dict[str, float] = field(default_factory=dict)
    battery: float | None = None
    rssi: int = -80
    silent: bool = False  # connects and says online, but never publishes a reading
    held: tuple[Message, ...] = ()  # a reading (and its copy) held back, to go out after the next one

    @classmethod
    def create(
        cls, spec: DeviceSpec, rng: random.Random, *, boot: int, local: datetime, pollutants: tuple[str, ...] = ()
    ) -> Sensor:
        """A device as it starts: an air station (mains, good signal) or a battery-powered NB-IoT berth sensor."""
        if spec.kind is DeviceKind.AIR_STATION:
            return cls(spec, boot, pollutants=pollutants, rssi=rng.randint(-75, -50))
        occupied = initial_occupied(rng, local)
        battery = round(rng.uniform(40.0, 100.0), 1)
        return cls(spec, boot, occupied=occupied, battery=battery, rssi=rng.randint(-115, -70))

    def _body(self, identity: Identity, rng: random.Random, ts: str, local: datetime) -> dict[str, object]:
        """Fields of a reading with this identity; moves the measured state (occupancy, battery, air) on."""
        boot, seq = identity
        body: dict[str, object] = {"boot": boot, "seq": seq, "ts": ts, "rssi": self._rssi(rng)}
        if self.battery is not None:
            self.battery = max(0.0, round(self.battery - 0.01, 2))  # exaggerated drain so it visibly moves
            body["battery"] = round(self.battery, 1)
        if self.spec.kind is DeviceKind.AIR_STATION:
            body.update(air_reading(rng, self.pollutants, local, self.air_state))
        else:
            self.occupied = next_occupied(rng, self.occupied, local)
            body["occupied"] = self.occupied
        return body

    def reading(self, rng: random.Random, ts: str, local: datetime, *, reboot: bool = False) -> Message:
        """The next valid reading, using up its seq; after a ``reboot`` it is the first of a new boot."""
        self.boot, self.seq = next_identity(self.boot, self.seq, reboot=reboot)
        identity = (self.boot, self.seq)
        return Message(encode(self._body(identity, rng, ts, local)), identity)

    def malformed(self, rng: random.Random, ts: str, local: datetime, cls: Malformed) -> Message:
        """A malformed message in place of the next reading; its seq stays free for the next valid one."""
        body = self._body(next_identity(self.boot, self.seq, reboot=False), rng, ts, local)
        return Message(malformed_payload(cls, body, self.spec.kind), malformed=cls)

    def turn(
        self, faults: ReadingFaults, rng: random.Random, ts: str, local: datetime, *, malformed: Malformed
    ) -> list[Message]:
        """What the device sends in one reading slot, given the faults drawn for it (maybe nothing)."""
        if faults.malformed:
            return [self.malformed(rng, ts, local, malformed)]
        reading = self.reading(rng, ts, local, reboot=faults.reboot)
        out = [reading, replace(reading, copy=True)] if faults.duplicate else [reading]
        if faults.hold_back and not self.held:
            self.held = tuple(out)
            return []
        late, self.held = self.held, ()
        return out + [replace(m, late=True) for m in late]

    def release(self) -> tuple[Message, ...]:
        """The reading held back, if any, when the device stops publishing (late, but after no newer one)."""
        held, self.held = self.held, ()
        return held

    def _rssi(self, rng: random.Random) -> int:
        """Signal strength jitters a few dB around the device's own level."""
        return max(-150, min(0, self.rssi + rng.randint(-3, 3)))
