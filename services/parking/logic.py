"""Berth occupancy rules (pure): statuses, how sensor events, silence and operators move them, and counts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum

from services.pipeline.identity import is_newer


class BerthStatus(StrEnum):
    FREE = "free"
    OCCUPIED = "occupied"
    CLOSED = "closed"
    UNKNOWN = "unknown"


class BerthCategory(StrEnum):
    """Who a berth is for; the order is also the numbering order of reserved berths in the district file."""

    DISABLED = "disabled"
    EV_CHARGING = "ev_charging"
    LOADING = "loading"
    NORMAL = "normal"


class Detection(StrEnum):
    """How a berth's occupancy is known (NGSI-LD occupancyDetectionType in brackets)."""

    SENSOR = "sensor"  # its own occupancy sensor (singleSpaceDetection)
    BARRIER = "barrier"  # counted by the facility's entry/exit barrier (balancing)
    MANUAL = "manual"  # attendants and tickets only (manual)


class FacilityKind(StrEnum):
    OFF_STREET = "off_street"  # surface car park
    GARAGE = "garage"  # underground or multi-storey: off-street too
    ON_STREET = "on_street"  # kerb segment of one road


OFF_STREET_KINDS = frozenset({FacilityKind.OFF_STREET, FacilityKind.GARAGE})
SENSOR_DRIVEN = frozenset({BerthStatus.FREE, BerthStatus.OCCUPIED})  # what silence can make stale
COUNTED = ("total", *(s.value for s in BerthStatus))


def detection(has_sensor: bool, barrier: bool) -> Detection:
    """A sensor wins; otherwise the facility's barrier counts the berth, or nobody does."""
    if has_sensor:
        return Detection.SENSOR
    return Detection.BARRIER if barrier else Detection.MANUAL


def is_smart_managed(kind: Detection | str) -> bool:
    """The plan's "smart-managed berth": occupancy known by a sensor or a barrier, not by hand."""
    return kind in (Detection.SENSOR, Detection.BARRIER)


def status_from_sensor(occupied: bool) -> BerthStatus:
    return BerthStatus.OCCUPIED if occupied else BerthStatus.FREE


def next_status(current: tuple[str, int | None, int | None], event: dict) -> BerthStatus | None:
    """The berth's new status after ``event``, or None when the event is not newer than what we hold.

    Ordering is by the device's (boot, seq), never by arrival: a duplicate or a late event changes nothing.
    A closed berth stays closed: sensors do not reopen what the operator shut. An unknown (silent) berth
    becomes known again with the first newer event.
    """
    status, boot, seq = current
    if not is_newer(event["boot"], event["seq"], boot, seq):
        return None
    if status == BerthStatus.CLOSED:
        return BerthStatus.CLOSED
    return status_from_sensor(event["occupied"])


def is_silent(seen_at: datetime | None, now: datetime, silence_s: float) -> bool:
    """Whether the sensor's newest accepted event is older than the silence timeout (or there is none)."""
    return seen_at is None or (now - seen_at).total_seconds() > silence_s


def swept_status(status: str, *, silent: bool, offline: bool) -> BerthStatus:
    """Status after the silence sweep: a free/occupied berth whose sensor is silent or offline is unknown.

    Closed and unknown berths are left as they are: closing is the operator's, not the sensor's.
    """
    status = BerthStatus(status)
    if status in SENSOR_DRIVEN and (silent or offline):
        return BerthStatus.UNKNOWN
    return status


def reopened_status(sensor_occupied: bool | None, *, silent: bool, offline: bool) -> BerthStatus:
    """Status of a berth the operator opens again: the sensor's latest word if it is fresh, else unknown."""
    if sensor_occupied is None or silent or offline:
        return BerthStatus.UNKNOWN
    return status_from_sensor(sensor_occupied)


def empty_counts() -> dict[str, int]:
    return dict.fromkeys(COUNTED, 0)


def tally(rows: Iterable[tuple[str, str, str, int]]) -> dict[str, dict]:
    """Facility counts from (facility_id, category, status, berths) rows, e.g. a GROUP BY.

    Each facility gets total and one count per status, plus the same per berth category, so a count is
    always the sum of its berths and ``total == free + occupied + closed + unknown``.
    """
    result: dict[str, dict] = {}
    for facility_id, category, status, n in rows:
        entry = result.setdefault(facility_id, empty_counts() | {"by_category": {}})
        per_category = entry["by_category"].setdefault(category, empty_counts())
        for bucket in (entry, per_category):
            bucket["total"] += n
            bucket[status] += n
    return result


def occupancy_rate(counts: dict) -> float | None:
    """Occupied share of the berths whose state is known and open (None when there are none)."""
    known = counts["free"] + counts["occupied"]
    return round(counts["occupied"] / known, 4) if known else None
