"""Plausibility checks: one reading judged against its station's recent history (pure: no I/O).

The bridge has already dead-lettered what no instrument can report (beyond ``schemas.BOUNDS``, the
instruments' own ranges). Everything else is stored; these checks flag what cannot be ambient air: a
small negative concentration (an analyser's zero drift), a value above what ambient air reaches, a
spike, a stuck sensor, PM2.5 above PM10. A flagged value is kept, with its code, and left out of every
mean and AQI.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from statistics import median

from services.air_quality.measures import MEASURES, POLLUTANTS


class Quality(StrEnum):
    """Quality codes stored per measure in ``air_readings.quality`` (absent: the value is good)."""

    NEGATIVE = "negative"  # below zero: zero drift of the analyser, not air
    IMPLAUSIBLE = "implausible"  # within the instrument's range but beyond what ambient air reaches
    INCONSISTENT = "inconsistent"  # PM2.5 above PM10: PM2.5 is a part of PM10
    STUCK = "stuck"  # the same value, reading after reading, for too long
    SPIKE = "spike"  # a jump far from the level just before it


# Ambient ceilings (µg/m³; CO mg/m³): above these a reading is an instrument fault, not weather. Well above
# the worst hours on record in northern China's cities (dust storms push PM10 past 1,000, not 2,000).
AMBIENT_CEILING = {"pm25": 1000.0, "pm10": 2000.0, "so2": 1500.0, "no2": 1000.0, "o3": 1000.0, "co": 60.0}
NON_NEGATIVE = frozenset(POLLUTANTS)

# How far back the store fetches a station's readings to judge a new one.
HISTORY = timedelta(hours=1)

# A run of one value this long (and this many readings) is a stuck sensor, not calm air.
STUCK_MIN_REPEATS = 6
STUCK_MIN_SPAN = timedelta(minutes=45)

# A spike departs from the median of the previous readings (within SPIKE_CONTEXT) by more than the
# absolute step below AND, for pollutants, by more than a factor SPIKE_RATIO. A level that persists
# becomes the median after three readings and is accepted from then on.
SPIKE_CONTEXT = timedelta(minutes=30)
SPIKE_NEIGHBOURS = 5
SPIKE_MIN_NEIGHBOURS = 3
SPIKE_RATIO = 3.0
SPIKE_STEP = {
    "pm25": 150.0,
    "pm10": 250.0,
    "so2": 200.0,
    "no2": 150.0,
    "o3": 150.0,
    "co": 5.0,  # mg/m³
    "temperature": 8.0,  # °C
    "humidity": 30.0,  # %
}

# PM2.5 may exceed PM10 by this much (µg/m³) before it is flagged: two instruments, each with noise.
PM_TOLERANCE = 10.0


@dataclass(frozen=True)
class Sample:
    """A reading as the checks see it: when, and the value of each measure (None: not measured)."""

    observed_at: datetime
    values: Mapping[str, float | None] = field(default_factory=dict)


def check(reading: Sample, history: Sequence[Sample]) -> dict[str, str]:
    """Return measure -> quality code for each value of ``reading`` that is implausible.

    ``history`` holds the station's earlier readings, oldest first (older than HISTORY is ignored).
    """
    earlier = [s for s in history if reading.observed_at - HISTORY <= s.observed_at < reading.observed_at]
    flags = out_of_ambient_range(reading.values) or inconsistent(reading.values)
    for measure in MEASURES:
        value = reading.values.get(measure)
        if value is None or measure in flags:
            continue
        series = [(s.observed_at, s.values[measure]) for s in earlier if s.values.get(measure) is not None]
        if stuck(reading.observed_at, value, series):
            flags[measure] = Quality.STUCK
        elif spike(measure, reading.observed_at, value, series):
            flags[measure] = Quality.SPIKE
    return {m: str(flags[m]) for m in MEASURES if m in flags}


def out_of_ambient_range(values: Mapping[str, float | None]) -> dict[str, Quality]:
    """Flag negative concentrations and those above the ambient ceiling."""
    flags = {}
    for measure, value in values.items():
        if value is None:
            continue
        if measure in NON_NEGATIVE and value < 0:
            flags[measure] = Quality.NEGATIVE
        elif value > AMBIENT_CEILING.get(measure, float("inf")):
            flags[measure] = Quality.IMPLAUSIBLE
    return flags


def inconsistent(values: Mapping[str, float | None]) -> dict[str, Quality]:
    """Flag PM2.5 and PM10 both when PM2.5 exceeds PM10 (beyond PM_TOLERANCE): which one is wrong is unknown."""
    pm25, pm10 = values.get("pm25"), values.get("pm10")
    if pm25 is not None and pm10 is not None and pm25 > pm10 + PM_TOLERANCE:
        return {"pm25": Quality.INCONSISTENT, "pm10": Quality.INCONSISTENT}
    return {}


def stuck(at: datetime, value: float, series: Sequence[tuple[datetime, float]]) -> bool:
    """True when value ends a run of equal values at least STUCK_MIN_REPEATS long spanning STUCK_MIN_SPAN."""
    run_start, repeats = at, 1
    for when, earlier in reversed(series):
        if earlier != value:
            break
        run_start, repeats = when, repeats + 1
    return repeats >= STUCK_MIN_REPEATS and at - run_start >= STUCK_MIN_SPAN


def spike(measure: str, at: datetime, value: float, series: Sequence[tuple[datetime, float]]) -> bool:
    """True when value departs from the recent median by more than the measure's step (and ratio)."""
    recent = [v for when, v in series if at - when <= SPIKE_CONTEXT][-SPIKE_NEIGHBOURS:]
    if len(recent) < SPIKE_MIN_NEIGHBOURS:
        return False  # too little context to call anything a spike
    level = median(recent)
    if abs(value - level) <= SPIKE_STEP[measure]:
        return False
    if measure not in POLLUTANTS:
        return True
    return value > level * SPIKE_RATIO or value * SPIKE_RATIO < level
