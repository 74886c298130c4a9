"""The simulated sensor values: bounded, shaped by the clock, and reproducible from a seed."""

from __future__ import annotations

import itertools
import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sensors.values import BOUNDS, POLLUTANTS, air_reading, initial_occupied, next_occupied, target_occupancy

TZ = ZoneInfo("Asia/Shanghai")
WEEKDAY = datetime(2026, 11, 25, tzinfo=TZ)  # a Wednesday
SATURDAY = datetime(2026, 11, 28, tzinfo=TZ)
ALL = list(POLLUTANTS)


def flips(hour: int, day: datetime = WEEKDAY, berths: int = 2000, steps: int = 20, seed: int = 7) -> int:
    """State changes across a fleet of berths, ``steps`` readings each, at one local hour."""
    rng, when, count = random.Random(seed), day.replace(hour=hour), 0
    for _ in range(berths):
        state = initial_occupied(rng, when)
        for _ in range(steps):
            new = next_occupied(rng, state, when)
            count += new != state
            state = new
    return count


def occupancy(when: datetime, berths: int = 2000, steps: int = 200, seed: int = 3) -> float:
    """Share of berths occupied after long enough for the chain to settle, starting from all empty."""
    rng, occupied = random.Random(seed), 0
    for _ in range(berths):
        state = False
        for _ in range(steps):
            state = next_occupied(rng, state, when)
        occupied += state
    return occupied / berths


def test_rush_hour_is_busier_than_three_am():
    assert flips(8) > 3 * flips(3)
    assert flips(18) > 3 * flips(3)


def test_weekday_daytime_is_fuller_than_night_and_weekend():
    day = occupancy(WEEKDAY.replace(hour=11))
    assert day == pytest.approx(target_occupancy(WEEKDAY.replace(hour=11)), abs=0.05)
    assert day > occupancy(WEEKDAY.replace(hour=3)) + 0.2
    assert day > occupancy(SATURDAY.replace(hour=11)) + 0.1


def test_next_occupied_returns_a_bool():
    rng = random.Random(1)
    assert all(isinstance(next_occupied(rng, s, WEEKDAY), bool) for s in (True, False) * 50)


@pytest.mark.parametrize("month", [1, 4, 7, 10])
def test_air_values_stay_within_physical_bounds(month):
    rng, state = random.Random(month), {}
    start = datetime(2026, month, 1, tzinfo=TZ)
    for i in range(5000):
        reading = air_reading(rng, ALL, start + timedelta(minutes=7 * i), state)
        for name, value in reading.items():
            low, high = BOUNDS[name]
            assert isinstance(value, float), name
            assert low <= value <= high, (name, value)


def test_air_values_are_plausible_for_tianjin():
    rng, state = random.Random(5), {}
    winter = [air_reading(rng, ["pm25"], datetime(2026, 1, 10, h % 24, tzinfo=TZ), state)["pm25"] for h in range(3000)]
    state = {}
    summer = [air_reading(rng, ["pm25"], datetime(2026, 7, 10, h % 24, tzinfo=TZ), state)["pm25"] for h in range(3000)]
    winter.sort()
    summer.sort()
    assert 20 <= winter[len(winter) // 2] <= 120
    assert 10 <= summer[len(summer) // 2] <= 80
    assert winter[len(winter) // 2] > summer[len(summer) // 2]


def test_air_walk_is_smooth():
    rng, state = random.Random(9), {}
    values = [air_reading(rng, ["pm25"], WEEKDAY.replace(hour=10), state)["pm25"] for _ in range(500)]
    steps = [abs(b - a) / a for a, b in itertools.pairwise(values)]
    assert sum(steps) / len(steps) < 0.15  # consecutive readings differ by a few percent, not at random


@pytest.mark.parametrize("pollutants", [ALL, ["pm25", "pm10"], ["no2"], []])
def test_air_reading_has_only_the_stations_measures(pollutants):
    reading = air_reading(random.Random(1), pollutants, WEEKDAY, {})
    assert set(reading) == {*pollutants, "temperature", "humidity"}


def test_same_seed_same_values():
    def run(seed):
        rng, state, out = random.Random(seed), {}, []
        occupied = False
        for i in range(200):
            when = WEEKDAY + timedelta(minutes=i)
            occupied = next_occupied(rng, occupied, when)
            out.append((occupied, air_reading(rng, ALL, when, state)))
        return out

    assert run(42) == run(42)
    assert run(42) != run(43)
