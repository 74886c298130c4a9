"""Threshold alerting without flapping (pure): a duration to raise, a lower level and a duration to clear.

Samples come at a regular interval, newest last; None is a missing sample, which counts towards
neither raising nor clearing. The only state is whether the alert is open, which the store keeps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class Decision(StrEnum):
    RAISE = "raise"
    CLEAR = "clear"
    HOLD = "hold"  # keep whatever is (open or not)


@dataclass(frozen=True)
class ThresholdRule:
    """Raise after ``raise_after`` samples in a row at or above ``threshold``; clear after ``clear_after``
    samples in a row below ``threshold - hysteresis``."""

    threshold: float
    hysteresis: float
    raise_after: int
    clear_after: int

    def __post_init__(self):
        if self.hysteresis < 0 or self.raise_after < 1 or self.clear_after < 1:
            raise ValueError("hysteresis must be >= 0 and both durations at least one sample")


def _run(samples: Sequence[float | None], count: int, holds) -> bool:
    tail = samples[-count:]
    return len(tail) == count and all(v is not None and holds(v) for v in tail)


def decide(rule: ThresholdRule, samples: Sequence[float | None], is_open: bool) -> Decision:
    """What to do now, given the samples so far and whether the alert is open."""
    if not is_open and _run(samples, rule.raise_after, lambda v: v >= rule.threshold):
        return Decision.RAISE
    if is_open and _run(samples, rule.clear_after, lambda v: v < rule.threshold - rule.hysteresis):
        return Decision.CLEAR
    return Decision.HOLD
