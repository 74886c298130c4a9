"""What each station says now: its latest reading rated by the AQI module, ready for the page.

The rating is the real-time report's (1-hour values, HJ 633-2026 from 2026-03-01) applied to the newest
reading; values the plausibility checks flagged are left out, as the backend leaves them out of its means.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from services.air_quality.aqi import AqiInputError, AqiResult, Category, Period, calculate
from services.air_quality.aqi_categories import CHINA_CATEGORIES, level
from services.air_quality.measures import MEASURES, POLLUTANTS
from services.air_quality.models import AirReading, AirStation

# Display names of the measures (chemical formulae read the same in Chinese and English).
MEASURE_LABELS = {
    "pm25": "PM2.5",
    "pm10": "PM10",
    "so2": "SO₂",
    "no2": "NO₂",
    "o3": "O₃",
    "o3_8h": "O₃ 8h",
    "co": "CO",
}
UNITS = {"co": "mg/m³", "temperature": "°C", "humidity": "%"}
DEFAULT_UNIT = "µg/m³"


@dataclass(frozen=True)
class StationNow:
    """A station, its newest reading (None before the first) and that reading's rating."""

    station: AirStation
    reading: AirReading | None
    rating: AqiResult | None
    flagged: dict[str, str] = field(default_factory=dict)

    @property
    def aqi(self) -> int | None:
        return self.rating.aqi if self.rating else None

    @property
    def level(self) -> int | None:
        return self.rating.category.level if self.rating and self.rating.category else None

    @property
    def primary_labels(self) -> list[str]:
        return [MEASURE_LABELS.get(p, p) for p in self.rating.primary_pollutants] if self.rating else []

    @property
    def measured_labels(self) -> list[str]:
        return [MEASURE_LABELS.get(p, p) for p in self.station.pollutants or []]

    def values(self) -> list[tuple[str, str, float, str, int | None, str | None]]:
        """(measure, label, value, unit, sub-index, quality flag) for each measure the reading holds."""
        if self.reading is None:
            return []
        iaqi = self.rating.iaqi if self.rating else {}
        return [
            (m, MEASURE_LABELS.get(m, m), value, UNITS.get(m, DEFAULT_UNIT), iaqi.get(m), self.flagged.get(m))
            for m in MEASURES
            if (value := getattr(self.reading, m)) is not None
        ]

    def to_json(self, lang: str) -> dict:
        """The station as the page's script sees it (map markers, live updates)."""
        category = self.rating.category if self.rating else None
        return {
            "id": self.station.id,
            "name": self.station.name_zh if lang == "zh" else self.station.name_en,
            "lat": self.station.lat,
            "lon": self.station.lon,
            "pollutants": list(self.station.pollutants or []),
            "aqi": self.aqi,
            "level": self.level,
            "category": (category.zh if lang == "zh" else category.en) if category else None,
            "observed_at": self.reading.observed_at.isoformat() if self.reading else None,
        }


def rate(reading: AirReading) -> tuple[AqiResult | None, dict[str, str]]:
    """Rate a reading's good pollutant values; None when none of them can be rated."""
    flagged = dict(reading.quality or {})
    concentrations = {p: v for p in POLLUTANTS if (v := getattr(reading, p)) is not None and p not in flagged}
    try:
        result = calculate(concentrations, period=Period.HOUR, observed_at=reading.observed_at)
    except AqiInputError as exc:
        # HJ 633-2012 cannot rate a 1-hour SO2 above 800 without its 24-hour mean: rate the rest.
        concentrations.pop(exc.field if exc.field in concentrations else "so2", None)
        result = calculate(concentrations, period=Period.HOUR, observed_at=reading.observed_at)
    return (result if result.aqi is not None else None), flagged


def stations_now(pairs: list[tuple[AirStation, AirReading | None]]) -> list[StationNow]:
    """Rate each station's newest reading (pairs as ``store.latest_readings`` returns them)."""
    rated = []
    for station, reading in pairs:
        rating, flagged = rate(reading) if reading is not None else (None, {})
        rated.append(StationNow(station, reading, rating, flagged))
    return rated


KIND_ORDER = {"national": 0, "municipal": 1, "micro": 2}


def headline(stations: list[StationNow]) -> StationNow | None:
    """The district's figure: the official (national, then municipal) station with a rating, if any."""
    rated = [s for s in stations if s.rating is not None]
    return min(rated, key=lambda s: KIND_ORDER.get(s.station.kind, 9), default=None)


def legend_bands(top: int = 500) -> list[tuple[Category, int, int]]:
    """Each China category with the AQI band it covers (the first from 1, HJ 633-2026 §4.1.1)."""
    bands: dict[int, list[int]] = {}
    for aqi in range(1, top + 1):
        bands.setdefault(level(aqi), []).append(aqi)
    return [(CHINA_CATEGORIES[k - 1], values[0], values[-1]) for k, values in sorted(bands.items())]
