"""SLA clocks (pure): time to first response and time to resolution, computed from a request's status history.

A clock only counts the time the request spends in the statuses that make it run. The response clock
runs while the request is `submitted` and stops for good at the first response. The resolution clock
runs from submission until the work is done, and is paused while `on_hold` (waiting for the resident or
another agency) and while `resolved` (it runs again if the request is reopened). Hours are wall-clock
hours: community centres take requests every day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.service_requests.catalogue import Sla
from services.service_requests.lifecycle import Status

S = Status
RESPONSE_RUNS = frozenset({S.SUBMITTED})
RESOLUTION_RUNS = frozenset({S.SUBMITTED, S.ACCEPTED, S.ASSIGNED, S.IN_PROGRESS})
RESOLUTION_PAUSES = frozenset({S.ON_HOLD, S.RESOLVED})

Timeline = Sequence[tuple[datetime, Status]]  # (when, status entered), oldest first; first entry: submitted


@dataclass(frozen=True)
class Clock:
    budget: timedelta
    elapsed: timedelta  # time counted so far (up to ``now``)
    due_at: datetime | None  # when the budget runs out; None unless the clock is running
    running: bool
    paused: bool  # not running now, but may run again

    @property
    def remaining(self) -> timedelta:
        return self.budget - self.elapsed

    @property
    def overdue(self) -> bool:
        """Running and past its due time (a stopped clock that ran late is ``late``, not overdue)."""
        return self.running and self.elapsed > self.budget

    @property
    def late(self) -> bool:
        return self.elapsed > self.budget


def clock(
    timeline: Timeline, budget: timedelta, runs: frozenset[Status], pauses: frozenset[Status], now: datetime
) -> Clock:
    """Run one clock over the timeline up to ``now``: it counts time in ``runs``, waits in ``pauses``."""
    if not timeline:
        raise ValueError("a timeline starts with the request's submission")
    elapsed = timedelta(0)
    for (start, status), (end, _) in zip(timeline, [*timeline[1:], (now, None)], strict=True):
        if status in runs:
            elapsed += max(end - start, timedelta(0))
    last_at, last_status = timeline[-1]
    running = last_status in runs
    due_at = None
    if running:
        before_last = elapsed - max(now - last_at, timedelta(0))
        due_at = last_at + (budget - before_last)
    return Clock(budget, elapsed, due_at, running, paused=last_status in pauses)


@dataclass(frozen=True)
class SlaState:
    response: Clock
    resolution: Clock

    @property
    def overdue(self) -> bool:
        return self.response.overdue or self.resolution.overdue

    @property
    def expected_at(self) -> datetime | None:
        """Open311 ``expected_datetime``: when the resolution is due, while its clock runs."""
        return self.resolution.due_at


def sla_state(timeline: Timeline, sla: Sla, now: datetime) -> SlaState:
    """Both clocks of a request at ``now``."""
    return SlaState(
        response=clock(timeline, timedelta(hours=sla.response_hours), RESPONSE_RUNS, frozenset(), now),
        resolution=clock(timeline, timedelta(hours=sla.resolution_hours), RESOLUTION_RUNS, RESOLUTION_PAUSES, now),
    )
