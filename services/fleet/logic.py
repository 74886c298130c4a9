"""Sensor fleet health rules (pure): each device online, stale or offline; counts and availability per group."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from config.topics import DeviceKind
from services.alerts.logic import Severity

OFFLINE_STATUS = "offline"  # what a device's last will (or a clean goodbye) publishes on its status topic
MAX_LISTED_IDS = 20  # device ids an alert's detail names; the counts say how many more there are


class DeviceState(StrEnum):
    ONLINE = "online"
    STALE = "stale"  # connected as far as we know, but nothing received within its kind's timeout
    OFFLINE = "offline"  # its last will (or its own word) says offline, or it has never been heard from


# Worst first: how device lists are ordered, so the console shows what needs attention on page one.
STATE_ORDER = {DeviceState.OFFLINE: 0, DeviceState.STALE: 1, DeviceState.ONLINE: 2}


def device_state(status: str | None, last_seen: float | None, now: float, timeout_s: float) -> DeviceState:
    """Classify one device from its last published status, its latest accepted message and its kind's timeout."""
    if status == OFFLINE_STATUS or last_seen is None:
        return DeviceState.OFFLINE
    if now - last_seen > timeout_s:
        return DeviceState.STALE
    return DeviceState.ONLINE


def silent_seconds(last_seen: float | None, now: float) -> int | None:
    """Whole seconds since the device was last heard from (None: never); clock skew never makes it negative."""
    return None if last_seen is None else max(0, round(now - last_seen))


def battery_low(battery: float | None, threshold_percent: float) -> bool:
    """Whether a reported battery level is at or below the threshold (a device that reports none is not low)."""
    return battery is not None and battery <= threshold_percent


def availability(online: int, total: int) -> float | None:
    """Share of active devices online, 0..1 to four places; None for an empty group (nothing to be available)."""
    return round(online / total, 4) if total else None


@dataclass
class Tally:
    """Counts of one group of active devices (a kind, a subdistrict's kind, a facility)."""

    total: int = 0
    online: int = 0
    stale: int = 0
    offline: int = 0
    battery_low: int = 0

    def add(self, state: DeviceState, low_battery: bool = False) -> None:
        self.total += 1
        setattr(self, str(state), getattr(self, str(state)) + 1)
        self.battery_low += low_battery

    @property
    def not_online(self) -> int:
        return self.stale + self.offline

    @property
    def availability(self) -> float | None:
        return availability(self.online, self.total)

    def counts(self) -> dict:
        return {
            "total": self.total,
            "online": self.online,
            "stale": self.stale,
            "offline": self.offline,
            "availability": self.availability,
        }


def timeouts(berth_silence_s: int, air_stale_after_s: int) -> dict[str, int]:
    """Seconds of silence after which each kind of device is stale: the timeouts its own domain already uses."""
    return {str(DeviceKind.PARKING_BERTH): berth_silence_s, str(DeviceKind.AIR_STATION): air_stale_after_s}


def sensors_offline_severity(tally: Tally) -> Severity | None:
    """Severity of a facility's sensors-offline alert: none while all are online, critical at half or more down."""
    if tally.not_online == 0:
        return None
    return Severity.CRITICAL if 2 * tally.not_online >= tally.total else Severity.WARNING


def worst_first(device_ids_by_state: Mapping[str, DeviceState]) -> list[str]:
    """Device ids that are not online, offline ones first, then by id."""
    down = [(STATE_ORDER[s], d) for d, s in device_ids_by_state.items() if s is not DeviceState.ONLINE]
    return [d for _, d in sorted(down)]


def signature(summary: Mapping) -> dict:
    """The summary without its timestamp: what must differ for the counts to count as changed."""
    return {"kinds": summary["kinds"], "subdistricts": summary["subdistricts"]}


def kinds_in_order(present: Iterable[str]) -> list[str]:
    """Every device kind the platform knows, then any other kind found in the registry, sorted."""
    known = [str(k) for k in DeviceKind]
    return known + sorted(set(present) - set(known))
