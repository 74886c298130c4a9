"""Berth occupancy rules (pure)."""

from __future__ import annotations

from enum import StrEnum

from services.pipeline.identity import is_newer


class BerthStatus(StrEnum):
    FREE = "free"
    OCCUPIED = "occupied"
    CLOSED = "closed"
    UNKNOWN = "unknown"


def status_from_sensor(occupied: bool) -> BerthStatus:
    return BerthStatus.OCCUPIED if occupied else BerthStatus.FREE


def next_status(current: tuple[str, int | None, int | None], event: dict) -> BerthStatus | None:
    """The berth's new status after ``event``, or None when the event is older than what we hold.

    A closed berth stays closed: sensors do not reopen what the operator shut.
    """
    status, boot, seq = current
    if not is_newer(event["boot"], event["seq"], boot, seq):
        return None
    if status == BerthStatus.CLOSED:
        return BerthStatus.CLOSED
    return status_from_sensor(event["occupied"])
