"""What simulated sensors report: berth occupancy and air readings, deterministic given a ``random.Random``.

Pure functions: no clock, no I/O. The caller passes the local (Asia/Shanghai) time and, for air stations,
a per-station ``state`` dict that carries the random walk from one reading to the next.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, MutableMapping
from datetime import datetime

from services.air_quality.measures import POLLUTANTS
from services.air_quality.schemas import BOUNDS  # the platform's physical bounds: a simulated value stays inside

# Decimal places per measure: CO is in mg/m³ and small, so it keeps two.
DECIMALS = {"pm25": 1, "pm10": 1, "so2": 1, "no2": 1, "o3": 1, "co": 2, "temperature": 1, "humidity": 1}

# --- parking ---------------------------------------------------------------------------------------------

RUSH_HOURS = frozenset({7, 8, 17, 18})  # 7-9 and 17-19 local time
NIGHT_HOURS = frozenset({0, 1, 2, 3, 4, 5})


def turnover(local_dt: datetime) -> float:
    """Chance that a berth's state is due to change at one reading, by local hour."""
    hour = local_dt.hour
    if hour in RUSH_HOURS:
        return 0.30
    if hour in NIGHT_HOURS:
        return 0.03
    if hour >= 22 or hour == 6:
        return 0.08
    return 0.15


def target_occupancy(local_dt: datetime) -> float:
    """Share of berths occupied in the long run at this local time (weekday daytime is busiest)."""
    hour, weekday = local_dt.hour, local_dt.weekday() < 5
    if 9 <= hour < 17:
        return 0.85 if weekday else 0.65
    if 7 <= hour < 9 or 17 <= hour < 20:
        return 0.70 if weekday else 0.60
    if hour in NIGHT_HOURS:
        return 0.35  # residents parking overnight on the street
    return 0.50


def next_occupied(rng: random.Random, occupied: bool, local_dt: datetime) -> bool:
    """Next state of one berth: a two-state Markov chain whose stationary share is ``target_occupancy``."""
    # Arrival a = t*p and departure d = t*(1-p) give stationary a/(a+d) = p, while t alone sets how busy it is.
    rate, target = turnover(local_dt), target_occupancy(local_dt)
    flip = rate * (1.0 - target) if occupied else rate * target
    return (not occupied) if rng.random() < flip else occupied


def initial_occupied(rng: random.Random, local_dt: datetime) -> bool:
    """A berth's state when the simulation starts, drawn at the target occupancy."""
    return rng.random() < target_occupancy(local_dt)


# --- air quality -----------------------------------------------------------------------------------------

# Walk per reading in log space: x <- PHI*x + SIGMA*N(0,1). Stationary sd = SIGMA/sqrt(1-PHI²) ≈ 0.28,
# so a station's level drifts between roughly half and double its seasonal base, slowly.
PHI = 0.98
SIGMA = 0.055
NOISE = 0.03  # per-reading measurement noise, relative


def _season(local_dt: datetime) -> float:
    """0 in mid-January (coldest, heating season) .. 1 in mid-July (hottest)."""
    day = local_dt.timetuple().tm_yday
    return (1.0 - math.cos(2 * math.pi * (day - 20) / 365.25)) / 2


def _diurnal(hour: float, peak: float) -> float:
    """Cosine in [-1, 1] over the day with its maximum at local hour ``peak``."""
    return math.cos(2 * math.pi * (hour - peak) / 24)


def _clamp(name: str, value: float) -> float:
    low, high = BOUNDS[name]
    return round(min(max(value, low), high), DECIMALS[name])


def _walk(rng: random.Random, state: MutableMapping[str, float], key: str) -> float:
    """Advance one AR(1) walk kept in ``state`` and return its multiplicative factor."""
    if key not in state:
        # Start anywhere in the stationary distribution so stations differ from the first reading.
        state[key] = rng.gauss(0.0, SIGMA / math.sqrt(1 - PHI**2))
    state[key] = PHI * state[key] + rng.gauss(0.0, SIGMA)
    return math.exp(state[key])


def _bases(local_dt: datetime) -> dict[str, float]:
    """Typical Tianjin levels at this time of year and day, before the random walk."""
    s = _season(local_dt)
    hour = local_dt.hour + local_dt.minute / 60
    # Particles and CO: heating season and night-time inversions; lowest mid-afternoon when the air mixes.
    night = 1 + 0.25 * _diurnal(hour, peak=2)
    # NO2 follows traffic: a morning and an evening rush on top of the night build-up.
    traffic = (
        1
        + 0.15 * _diurnal(hour, peak=2)
        + 0.2 * math.exp(-((hour - 8) ** 2) / 2)
        + 0.2 * math.exp(-((hour - 18.5) ** 2) / 2)
    )
    # O3 is photochemical: peaks mid-afternoon, much higher in summer, low at night.
    sun = max(0.15, 1 + 0.85 * _diurnal(hour, peak=15))
    return {
        "pm25": (75 - 40 * s) * night,  # winter ~75, summer ~35 µg/m³
        "so2": (14 - 8 * s) * night,  # heating coal is mostly gone; still higher in winter
        "no2": (45 - 15 * s) * traffic,
        "o3": (35 + 80 * s) * sun / 1.3,
        "co": (1.2 - 0.6 * s) * night,  # mg/m³
        "temperature": -3 + 30 * s + 5 * _diurnal(hour, peak=15),  # Jan ≈ -3 °C, Jul ≈ 27 °C means
        "humidity": 48 + 27 * s - 12 * _diurnal(hour, peak=15),  # drier winters, damp summer nights
    }


def air_reading(
    rng: random.Random, pollutants: Iterable[str], local_dt: datetime, state: MutableMapping[str, float]
) -> dict[str, float]:
    """One reading of a station: its own ``pollutants`` plus temperature and humidity, within physical bounds."""
    wanted = set(pollutants)
    base = _bases(local_dt)
    # Shared walks: particles (and the gases from the same sources) move together at one station.
    dust, gas, weather = _walk(rng, state, "dust"), _walk(rng, state, "gas"), _walk(rng, state, "weather")

    def noisy(value: float) -> float:
        return value * (1 + rng.gauss(0.0, NOISE))

    values = {
        "pm25": noisy(base["pm25"] * dust),
        "so2": noisy(base["so2"] * gas),
        "no2": noisy(base["no2"] * gas),
        "o3": noisy(base["o3"] / gas),  # NO titrates O3: dirty air means less ozone
        "co": noisy(base["co"] * math.sqrt(dust * gas)),
    }
    # PM10 includes PM2.5 plus a coarse fraction, typically 1.5-1.8x PM2.5 in Tianjin.
    values["pm10"] = values["pm25"] * (1.5 + 0.3 * rng.random())
    reading = {name: _clamp(name, values[name]) for name in POLLUTANTS if name in wanted}
    reading["temperature"] = _clamp("temperature", base["temperature"] + 2 * math.log(weather) + rng.gauss(0, 0.2))
    reading["humidity"] = _clamp("humidity", base["humidity"] - 15 * math.log(weather) + rng.gauss(0, 1))
    return reading
