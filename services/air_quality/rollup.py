"""Hourly and daily means with GB 3095-2026 表4 validity minima, and the hourly AQI (pure: no I/O).

A mean that fails its minimum is None, never an estimate; the counts say how close it came.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from statistics import fmean

from services.air_quality.aqi import AqiInputError, Period, china_aqi, standard_for
from services.air_quality.aqi_china import CHINA_TZ
from services.air_quality.measures import MEASURES, POLLUTANTS

HOUR = timedelta(hours=1)
# "1-hour average: at least 45 minutes of sampling": 9 of the hour's 12 five-minute slots hold a good value.
SLOT = timedelta(minutes=5)
HOUR_MIN_SLOTS = 9
DAY_MIN_HOURS = 20  # daily average: at least 20 hourly values
WINDOW_HOURS, WINDOW_MIN_HOURS = 8, 6  # 8-hour average: at least 6 hourly values
# HJ 663: the daily maximum 8-hour O3 takes the windows ending 08:00 … 24:00, at least 14 of them valid.
O3_WINDOW_ENDS = range(8, 25)
O3_MIN_WINDOWS = 14
# When the real-time AQI is missing a pollutant the station measures (HJ 633-2026 §5.3.1), it is
# published only above this value; otherwise "NA".
PUBLISH_INCOMPLETE_ABOVE = 100


@dataclass(frozen=True)
class RawReading:
    observed_at: datetime
    values: Mapping[str, float | None]
    quality: Mapping[str, str] | None = None


@dataclass(frozen=True)
class HourlyMeans:
    means: dict[str, float | None]
    slots: dict[str, int]
    flagged: dict[str, int]


@dataclass(frozen=True)
class HourlyAqi:
    aqi: int | None
    standard: str
    primary_pollutants: list[str]


@dataclass(frozen=True)
class DailyMeans:
    means: dict[str, float | None]
    o3_8h_max: float | None
    hours: dict[str, int]


def hour_start(at: datetime) -> datetime:
    """The UTC hour holding ``at`` (Asia/Shanghai is a whole-hour offset, so it is also the local hour)."""
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def local_day(at: datetime) -> date:
    return at.astimezone(CHINA_TZ).date()


def day_hours(day: date) -> list[datetime]:
    """The 24 UTC hour starts of a natural day in Asia/Shanghai, in order."""
    first = datetime.combine(day, time(0), CHINA_TZ).astimezone(UTC)
    return [first + k * HOUR for k in range(24)]


def hourly_means(start: datetime, readings: Iterable[RawReading]) -> HourlyMeans:
    """Mean of the good values of each measure in the hour from ``start``; None below HOUR_MIN_SLOTS."""
    good: dict[str, list[float]] = {m: [] for m in MEASURES}
    slots: dict[str, set[int]] = {m: set() for m in MEASURES}
    flagged: dict[str, int] = {}
    for r in readings:
        slot = (r.observed_at - start) // SLOT
        for m in MEASURES:
            value = r.values.get(m)
            if value is None:
                continue
            if r.quality and m in r.quality:
                flagged[m] = flagged.get(m, 0) + 1
                continue
            good[m].append(value)
            slots[m].add(slot)
    return HourlyMeans(
        means={m: fmean(good[m]) if len(slots[m]) >= HOUR_MIN_SLOTS else None for m in MEASURES},
        slots={m: len(slots[m]) for m in MEASURES if slots[m]},
        flagged=flagged,
    )


def hourly_aqi(start: datetime, means: Mapping[str, float | None], measured: Sequence[str]) -> HourlyAqi:
    """Real-time AQI of one hour by the standard in force then (HJ 633-2026 from 2026-03-01).

    ``measured`` lists the pollutants the station's programme measures: one of them without a valid
    mean makes the AQI incomplete, published only above PUBLISH_INCOMPLETE_ABOVE (§5.3.1).
    """
    standard = standard_for(start)
    concentrations = {p: means[p] for p in POLLUTANTS if means.get(p) is not None}
    try:
        result = china_aqi(concentrations, period=Period.HOUR, standard=standard)
    except AqiInputError as exc:
        # HJ 633-2012 rates a 1-hour SO2 above 800 by its 24-hour mean, which an hour does not have.
        concentrations.pop(exc.field if exc.field in concentrations else "so2", None)
        result = china_aqi(concentrations, period=Period.HOUR, standard=standard)
    missing = [p for p in measured if p not in concentrations]
    if result.aqi is None or (missing and result.aqi <= PUBLISH_INCOMPLETE_ABOVE):
        return HourlyAqi(None, str(standard), [])
    return HourlyAqi(result.aqi, str(standard), list(result.primary_pollutants))


def daily_means(day: date, hourly: Mapping[datetime, Mapping[str, float | None]]) -> DailyMeans:
    """Natural-day means from the hourly means (keyed by UTC hour start) and the daily maximum 8-hour O3."""
    hours = day_hours(day)
    means: dict[str, float | None] = {}
    counts: dict[str, int] = {}
    for m in MEASURES:
        values = [v for h in hours if (v := hourly.get(h, {}).get(m)) is not None]
        counts[m] = len(values)
        means[m] = fmean(values) if len(values) >= DAY_MIN_HOURS else None
    o3 = [hourly.get(h, {}).get("o3") for h in hours]
    windows = [w for end in O3_WINDOW_ENDS if (w := window_mean(o3[end - WINDOW_HOURS : end])) is not None]
    counts["o3_8h"] = len(windows)
    o3_8h_max = max(windows) if len(windows) >= O3_MIN_WINDOWS else None
    return DailyMeans(means, o3_8h_max, {k: v for k, v in counts.items() if v})


def window_mean(values: Sequence[float | None]) -> float | None:
    """An 8-hour mean, or None with fewer than WINDOW_MIN_HOURS valid hours in it."""
    present = [v for v in values if v is not None]
    return fmean(present) if len(present) >= WINDOW_MIN_HOURS else None
