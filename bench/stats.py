"""The pure parts of the ingest benchmark: pacing, message identities, loss/duplicate tallies, percentiles.

No I/O here, so each piece is unit-tested on its own (tests/unit/test_bench_stats.py).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field


# -- pacing -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Pacer:
    """Message ``k`` (0-based) is due ``k / rate`` seconds after the start; ``total`` = rate × duration."""

    rate: float
    duration: float

    def __post_init__(self):
        if self.rate <= 0 or self.duration <= 0:
            raise ValueError("rate and duration must be positive")

    @property
    def total(self) -> int:
        return max(1, round(self.rate * self.duration))

    def due(self, elapsed: float) -> int:
        """How many messages should have been sent ``elapsed`` seconds after the start."""
        if elapsed < 0:
            return 0
        return min(self.total, math.floor(elapsed * self.rate) + 1)

    def time_of(self, k: int) -> float:
        """Seconds after the start at which message ``k`` is due."""
        return k / self.rate


# -- message identity -------------------------------------------------------------------------------
# Message i of a run goes to device i mod D with seq i div D + 1: round-robin over the devices, so each
# device's seq counts 1, 2, 3 ... as a real device's does, and (device, boot, seq) names exactly one i.
def identity_of(i: int, devices: int) -> tuple[int, int]:
    """(device index, seq) of message ``i``."""
    return i % devices, i // devices + 1


def index_of(device: int, seq: int, devices: int) -> int:
    """Inverse of :func:`identity_of`."""
    return (seq - 1) * devices + device


@dataclass(frozen=True)
class Tally:
    """What the database holds for a run, against what the publisher sent and the broker acknowledged.

    lost: PUBACKed by the broker, not stored — the only figure the no-loss promise is about.
    duplicates: stored identities present more than once (extra copies).
    stored_unacked: stored although the PUBACK never reached the publisher (not an error: the broker got it).
    unacked_missing: sent, never PUBACKed and not stored (the broker never confirmed them; not a loss).
    foreign: stored rows of this run's boot that the publisher did not send (must be 0).
    """

    published: int
    acked: int
    stored: int  # distinct identities stored
    lost: int
    duplicates: int
    stored_unacked: int
    unacked_missing: int
    foreign: int


def tally(published: int, acked: Sequence[int], stored: Iterable[int | None]) -> Tally:
    """Count by identity. ``acked[i]`` is true when message i was PUBACKed; ``stored`` yields one message
    index per stored row (None for a row whose identity the publisher never sent)."""
    counts = bytearray(published)
    duplicates = foreign = 0
    for i in stored:
        if i is None or not 0 <= i < published:
            foreign += 1
        elif counts[i]:
            duplicates += 1
        else:
            counts[i] = 1
    acked_n = lost = stored_unacked = unacked_missing = 0
    for i in range(published):
        a, s = bool(acked[i]), counts[i]
        acked_n += a
        if a and not s:
            lost += 1
        elif s and not a:
            stored_unacked += 1
        elif not a and not s:
            unacked_missing += 1
    return Tally(published, acked_n, sum(counts), lost, duplicates, stored_unacked, unacked_missing, foreign)


# -- latency ----------------------------------------------------------------------------------------
def percentile(sorted_values: Sequence[float], p: float) -> float | None:
    """The p-th percentile (0..100) of already sorted values, interpolating linearly between ranks
    (numpy's default method); None for no values."""
    if not sorted_values:
        return None
    if not 0 <= p <= 100:
        raise ValueError("p must be between 0 and 100")
    rank = (len(sorted_values) - 1) * p / 100
    lo = math.floor(rank)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (rank - lo)


def summarise(values: Iterable[float]) -> dict[str, float | int | None]:
    """count, p50, p95, p99, max and mean of ``values`` (rounded to 0.1)."""
    ordered = sorted(values)

    def r(x):
        return None if x is None else round(x, 1)

    return {
        "count": len(ordered),
        "p50": r(percentile(ordered, 50)),
        "p95": r(percentile(ordered, 95)),
        "p99": r(percentile(ordered, 99)),
        "max": r(ordered[-1]) if ordered else None,
        "mean": r(sum(ordered) / len(ordered)) if ordered else None,
    }


def rate(count: int, seconds: float) -> float | None:
    return round(count / seconds, 1) if seconds > 0 else None


# -- polling the database for new rows --------------------------------------------------------------
@dataclass
class GapTracker:
    """Which row ids a poller has not seen yet, so each poll asks only for new rows.

    Ids come from one sequence but concurrent transactions commit out of order: a worker holding ids
    100-599 may commit after another's 600-1099. So "id > highest seen" would miss rows. The tracker
    keeps the ranges below the highest id seen that are still missing (``gaps``) and the poll asks for
    those ranges and for ids above ``high``. A gap can also be permanent (an INSERT ... ON CONFLICT DO
    NOTHING or a rolled-back transaction consumes ids): a gap older than ``max_age`` seconds is given
    up (``abandoned`` counts its ids) so the query stays small.
    """

    high: int  # every id <= high is seen, abandoned or in a gap
    max_age: float = 10.0
    gaps: list[list] = field(default_factory=list)  # [lo, hi, first noticed], inclusive, sorted by lo
    abandoned: int = 0

    def ranges(self) -> list[tuple[int, int]]:
        """Id ranges (inclusive) still missing below ``high``."""
        return [(lo, hi) for lo, hi, _ in self.gaps]

    def observe(self, ids: Iterable[int], now: float) -> int:
        """Record ids returned by a poll (any order); returns how many were new."""
        new = 0
        for i in sorted(ids):
            if i > self.high:
                if i > self.high + 1:
                    self.gaps.append([self.high + 1, i - 1, now])
                self.high = i
                new += 1
            elif self._fill(i):
                new += 1
        return new

    def _fill(self, i: int) -> bool:
        for n, (lo, hi, since) in enumerate(self.gaps):
            if lo <= i <= hi:
                parts = [[a, b, since] for a, b in ((lo, i - 1), (i + 1, hi)) if a <= b]
                self.gaps[n : n + 1] = parts
                return True
            if lo > i:
                break
        return False  # already seen (or abandoned): not new

    def expire(self, now: float) -> None:
        keep = []
        for gap in self.gaps:
            if now - gap[2] > self.max_age:
                self.abandoned += gap[1] - gap[0] + 1
            else:
                keep.append(gap)
        self.gaps = keep
