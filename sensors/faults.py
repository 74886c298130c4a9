"""Fault switches for the simulator, to test how the platform copes with misbehaving devices.

Pure: the decisions (which fault hits this reading, which devices are dead) draw only from the
``random.Random`` they are given, and malformed payloads are built from a valid reading's fields.
The simulator applies them; nothing here touches MQTT.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from enum import StrEnum

from config.topics import DeviceKind

MAX_PAYLOAD = 4096  # the bridge's default limit (BRIDGE_MAX_PAYLOAD); an oversize payload exceeds it


@dataclass(frozen=True)
class SimulationFaults:
    """Probabilities of each fault; all 0 (off) by default.

    - ``duplicate_rate``: a valid reading is published twice, same boot/seq/payload (a redelivery).
    - ``out_of_order_rate``: a valid reading is held back and published after the device's next one.
    - ``malformed_rate``: instead of a valid reading the device publishes a malformed one (no seq used).
    - ``silent_rate``: share of devices that connect and say online but never publish a reading.
    - ``reboot_rate``: before a valid reading the device reboots: boot + 1, seq restarts at 1.
    """

    duplicate_rate: float = 0.0
    out_of_order_rate: float = 0.0
    malformed_rate: float = 0.0
    silent_rate: float = 0.0
    reboot_rate: float = 0.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
                raise ValueError(f"{f.name} must be a probability between 0 and 1, got {value!r}")

    @property
    def enabled(self) -> bool:
        return any(getattr(self, f.name) > 0 for f in fields(self))


@dataclass(frozen=True)
class ReadingFaults:
    """What happens to one reading slot of one device. ``malformed`` excludes the others."""

    malformed: bool = False
    reboot: bool = False
    duplicate: bool = False
    hold_back: bool = False


NO_FAULTS = ReadingFaults()


def decide(rng: random.Random, faults: SimulationFaults) -> ReadingFaults:
    """Draw the faults for one reading slot.

    Always four draws, in a fixed order, so each switch's decisions for the n-th slot depend only on the
    seed and n, not on which other switches are on.
    """
    malformed, reboot, duplicate, hold_back = (rng.random() for _ in range(4))
    if malformed < faults.malformed_rate:
        return ReadingFaults(malformed=True)
    return ReadingFaults(
        reboot=reboot < faults.reboot_rate,
        duplicate=duplicate < faults.duplicate_rate,
        hold_back=hold_back < faults.out_of_order_rate,
    )


def choose_silent(rng: random.Random, device_ids: Sequence[str], rate: float) -> frozenset[str]:
    """The devices that stay silent: ``rate`` of them (rounded), drawn without replacement."""
    count = min(len(device_ids), math.floor(rate * len(device_ids) + 0.5))
    return frozenset(rng.sample(list(device_ids), count)) if count else frozenset()


def next_identity(boot: int, seq: int, *, reboot: bool) -> tuple[int, int]:
    """Identity ``(boot, seq)`` of a device's next valid reading; a reboot starts a new boot at seq 1."""
    return (boot + 1, 1) if reboot else (boot, seq + 1)


# --- malformed payloads ----------------------------------------------------------------------------------


class Malformed(StrEnum):
    BROKEN_JSON = "broken_json"  # transmission cut off half-way
    NOT_UTF8 = "not_utf8"  # firmware sending UTF-16
    MISSING_SEQ = "missing_seq"
    WRONG_TYPE = "wrong_type"  # occupied "yes"; pm25 as a string with its unit
    OUT_OF_RANGE = "out_of_range"  # battery 250 %; pm25 -500 µg/m³
    OVERSIZE = "oversize"  # a debug dump over the payload limit


MALFORMED_CYCLE: tuple[Malformed, ...] = tuple(Malformed)

# The platform's Reason (services.pipeline.intake.Reason values) for each class.
EXPECTED_REASON: dict[Malformed, str] = {
    Malformed.BROKEN_JSON: "bad_json",
    Malformed.NOT_UTF8: "encoding",
    Malformed.MISSING_SEQ: "invalid",
    Malformed.WRONG_TYPE: "invalid",
    Malformed.OUT_OF_RANGE: "out_of_range",
    Malformed.OVERSIZE: "oversize",
}


def malformed_class(index: int) -> Malformed:
    """The classes in turn: the n-th malformed message of a run is of class n mod 6."""
    return MALFORMED_CYCLE[index % len(MALFORMED_CYCLE)]


def encode(body: Mapping[str, object]) -> bytes:
    """A reading as devices send it: compact UTF-8 JSON."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def malformed_payload(
    cls: Malformed, body: Mapping[str, object], kind: DeviceKind, *, limit: int = MAX_PAYLOAD
) -> bytes:
    """Spoil a valid reading ``body`` of a device of ``kind`` in the way ``cls`` names."""
    data = dict(body)
    berth = kind is DeviceKind.PARKING_BERTH
    if cls is Malformed.BROKEN_JSON:
        text = encode(data)
        return text[: len(text) // 2]  # any proper prefix of a JSON object is invalid JSON
    if cls is Malformed.NOT_UTF8:
        return json.dumps(data, separators=(",", ":")).encode("utf-16")  # starts with the BOM ff fe
    if cls is Malformed.MISSING_SEQ:
        data.pop("seq", None)
    elif cls is Malformed.WRONG_TYPE:
        if berth:
            data["occupied"] = "yes"
        else:
            # A bare numeric string ("35.2") would be coerced and accepted; a unit makes it a real type error.
            data["pm25"] = f"{data.get('pm25', 35.0)} ug/m3"
    elif cls is Malformed.OUT_OF_RANGE:
        if berth:
            data["battery"] = 250
        else:
            data["pm25"] = -500
    elif cls is Malformed.OVERSIZE:
        data["debug"] = "x" * limit
    return encode(data)
