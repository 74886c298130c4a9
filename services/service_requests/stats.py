"""Statistics of service requests (pure): counts, median times, SLA compliance, backlog age, a daily series.

The store (stats_store.py) loads the facts in a few queries; everything here is plain computation on
them, so the same figures come out of PostgreSQL and SQLite and the unit tests need no database.
Days are natural days in Asia/Shanghai, as the centres count them; times are kept in UTC.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from statistics import median

from services.service_requests.catalogue import Sla
from services.service_requests.lifecycle import Status
from services.service_requests.sla import sla_state
from services.service_requests.stats_range import Window, local_day

S = Status
DONE = frozenset({S.RESOLVED, S.CLOSED})  # the work is done (closed may follow resolved)
REFUSED = frozenset({S.REJECTED, S.DUPLICATE})  # never resolved: left out of resolution figures
BACKLOG_STATUSES = frozenset({S.SUBMITTED, S.ACCEPTED, S.ASSIGNED, S.IN_PROGRESS, S.ON_HOLD})
# Backlog age buckets: (key, from days, to days); the last is open-ended.
AGE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("lt_1d", 0, 1),
    ("1_3d", 1, 3),
    ("3_7d", 3, 7),
    ("7_30d", 7, 30),
    ("gt_30d", 30, None),
)


@dataclass(frozen=True)
class Step:
    """One status change of a request's history (``submitted`` entries have no ``from_status``)."""

    at: datetime
    from_status: Status | None
    to_status: Status


@dataclass(frozen=True)
class RequestFacts:
    """What the statistics need of one request: no personal data."""

    public_id: str
    service_code: str
    category: str
    community_id: str | None
    status: Status
    requested_at: datetime
    updated_at: datetime
    response_due_at: datetime | None = None
    resolution_due_at: datetime | None = None
    steps: tuple[Step, ...] = ()  # oldest first, the first one the submission

    @property
    def first_response_at(self) -> datetime | None:
        """When the request first left ``submitted`` (accepted, rejected or marked duplicate)."""
        return next((s.at for s in self.steps if s.from_status is S.SUBMITTED), None)

    @property
    def resolved_at(self) -> datetime | None:
        """When it first reached resolved or closed; None for refused requests (rejected, duplicate)."""
        if self.status in REFUSED:
            return None
        return next((s.at for s in self.steps if s.to_status in DONE), None)

    def hours_to(self, moment: datetime | None) -> float | None:
        return None if moment is None else hours(moment - self.requested_at)

    def overdue(self, now: datetime) -> bool:
        return any(d is not None and d < now for d in (self.response_due_at, self.resolution_due_at))


def hours(span: timedelta) -> float:
    return max(span.total_seconds(), 0.0) / 3600


@dataclass(frozen=True)
class Duration:
    """The median of some durations in hours (None when there are none), and how many it is based on."""

    median_hours: float | None
    count: int


def duration(values: Iterable[float | None]) -> Duration:
    known = [v for v in values if v is not None]
    return Duration(round(median(known), 2) if known else None, len(known))


@dataclass(frozen=True)
class Compliance:
    """SLA clocks that finished within their budget (met) or over it (missed); still running ones apart."""

    met: int = 0
    missed: int = 0
    running: int = 0  # not finished yet, on hold included
    running_late: int = 0  # of those, already past the budget: they will be missed

    @property
    def finished(self) -> int:
        return self.met + self.missed

    @property
    def share(self) -> float | None:
        """met / finished, 0..1 (None before any clock has finished)."""
        return round(self.met / self.finished, 4) if self.finished else None


def compliance(facts: Sequence[RequestFacts], slas: Mapping[str, Sla], now: datetime) -> dict[str, Compliance]:
    """Response and resolution compliance; resolution leaves refused requests out. On-hold time is not counted."""
    tally = {"response": Counter(), "resolution": Counter()}
    for fact in facts:
        sla = slas.get(fact.service_code)
        if sla is None or not fact.steps:  # a service no longer in the catalogue: no budget to compare with
            continue
        state = sla_state([(s.at, s.to_status) for s in fact.steps], sla, now)
        _count(tally["response"], state.response, finished=not state.response.running)
        if fact.status not in REFUSED:
            _count(tally["resolution"], state.resolution, finished=fact.status in DONE)
    return {name: Compliance(**clocks) for name, clocks in tally.items()}


def _count(counter: Counter, clock, finished: bool) -> None:
    if finished:
        counter["missed" if clock.late else "met"] += 1
    else:
        counter["running"] += 1
        counter["running_late"] += int(clock.late)


@dataclass(frozen=True)
class Bucket:
    key: str
    min_days: int
    max_days: int | None
    count: int


@dataclass(frozen=True)
class Backlog:
    """Requests still waiting (submitted up to on hold), by age now; the oldest of them."""

    total: int
    buckets: list[Bucket]
    oldest_id: str | None = None
    oldest_requested_at: datetime | None = None
    oldest_age_hours: float | None = None


def backlog(waiting: Iterable[tuple[str, datetime]], now: datetime) -> Backlog:
    """Bucket (public id, requested at) pairs of waiting requests by age at ``now``."""
    waiting = sorted(waiting, key=lambda pair: pair[1])
    per_bucket = Counter(_bucket(hours(now - at) / 24) for _, at in waiting)
    buckets = [Bucket(key, low, high, per_bucket[key]) for key, low, high in AGE_BUCKETS]
    if not waiting:
        return Backlog(0, buckets)
    oldest_id, oldest_at = waiting[0]
    return Backlog(len(waiting), buckets, oldest_id, oldest_at, round(hours(now - oldest_at), 1))


def _bucket(age_days: float) -> str:
    return next(key for key, _, high in AGE_BUCKETS if high is None or age_days < high)


@dataclass(frozen=True)
class Day:
    day: date
    submitted: int
    resolved: int


def daily(facts: Iterable[RequestFacts], resolved: Iterable[datetime], span: Window) -> list[Day]:
    """Per day of the window: requests submitted, and requests first resolved (whenever they were submitted)."""
    submitted = Counter(local_day(f.requested_at) for f in facts)
    done = Counter(local_day(at) for at in resolved)
    return [Day(d, submitted[d], done[d]) for d in span.days]


@dataclass(frozen=True)
class Count:
    key: str | None
    count: int
    name_zh: str = ""
    name_en: str = ""


Names = Mapping[str, tuple[str, str]]  # key -> (name_zh, name_en)


def counts(keys: Iterable[str | None], names: Names, every: Sequence[str] = (), by_count: bool = True) -> list[Count]:
    """Requests per key. Keys in ``every`` are listed even with none; ``by_count``: largest first (ties keep order)."""
    tally = Counter(keys)
    listed = [*every, *sorted((k for k in tally if k not in every), key=lambda k: k or "")]
    if by_count:
        listed.sort(key=lambda k: -tally[k])
    return [Count(k, tally[k], *names.get(k, ("", ""))) for k in listed]


@dataclass(frozen=True)
class RequestStats:
    window: Window
    community_id: str | None
    total: int
    by_category: list[Count]
    by_community: list[Count]
    by_status: list[Count]
    first_response: Duration
    resolution: Duration
    sla: dict[str, Compliance]
    backlog: Backlog
    daily: list[Day]


def summarise(
    facts: Sequence[RequestFacts],
    resolved: Iterable[datetime],
    waiting: Iterable[tuple[str, datetime]],
    catalogue_slas: Mapping[str, Sla],
    names: Mapping[str, Names],
    span: Window,
    now: datetime,
    community_id: str | None = None,
) -> RequestStats:
    """Every figure of the statistics from the loaded facts (``names``: "category" and "community" -> Names)."""
    return RequestStats(
        window=span,
        community_id=community_id,
        total=len(facts),
        by_category=counts((f.category for f in facts), names["category"], list(names["category"])),
        by_community=counts((f.community_id for f in facts), names["community"]),
        by_status=counts((str(f.status) for f in facts), {}, [str(s) for s in Status], by_count=False),
        first_response=duration(f.hours_to(f.first_response_at) for f in facts),
        resolution=duration(f.hours_to(f.resolved_at) for f in facts),
        sla=compliance(facts, catalogue_slas, now),
        backlog=backlog(waiting, now),
        daily=daily(facts, resolved, span),
    )
