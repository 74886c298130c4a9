"""US EPA AQI (TAD EPA-454/B-24-002, May 2024) and the PM NowCast (reference/aqi.md §2)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from fractions import Fraction

from services.air_quality.aqi_categories import advice, category
from services.air_quality.aqi_core import (
    AqiInputError,
    AqiResult,
    Number,
    Standard,
    exact,
    exact_inputs,
    leaders,
    ordered,
    round_half_up,
    rows,
    sub_index,
    top,
    truncate,
)

# TAD 2024 Table 6: PM µg/m³, O3 and CO ppm, SO2 and NO2 ppb. Only PM2.5 changed from the 2012 table.
PM25_24H = rows(
    ("0.0", "9.0", 0, 50),
    ("9.1", "35.4", 51, 100),
    ("35.5", "55.4", 101, 150),
    ("55.5", "125.4", 151, 200),
    ("125.5", "225.4", 201, 300),
    ("225.5", "325.4", 301, 500),
)
PM10_24H = rows(
    ("0", "54", 0, 50),
    ("55", "154", 51, 100),
    ("155", "254", 101, 150),
    ("255", "354", 151, 200),
    ("355", "424", 201, 300),
    ("425", "604", 301, 500),
)
O3_8H = rows(  # defines no AQI above 300: the 1-hour O3 does
    ("0.000", "0.054", 0, 50),
    ("0.055", "0.070", 51, 100),
    ("0.071", "0.085", 101, 150),
    ("0.086", "0.105", 151, 200),
    ("0.106", "0.200", 201, 300),
)
O3_1H = rows(  # 1-hour O3 below 0.125 ppm is disregarded
    ("0.125", "0.164", 101, 150),
    ("0.165", "0.204", 151, 200),
    ("0.205", "0.404", 201, 300),
    ("0.405", "0.604", 301, 500),
)
CO_8H = rows(
    ("0.0", "4.4", 0, 50),
    ("4.5", "9.4", 51, 100),
    ("9.5", "12.4", 101, 150),
    ("12.5", "15.4", 151, 200),
    ("15.5", "30.4", 201, 300),
    ("30.5", "50.4", 301, 500),
)
SO2_1H = rows(("0", "35", 0, 50), ("36", "75", 51, 100), ("76", "185", 101, 150), ("186", "304", 151, 200))
SO2_24H = rows(("305", "604", 201, 300), ("605", "1004", 301, 500))  # only for a 1-hour SO2 of 305 ppb or more
NO2_1H = rows(
    ("0", "53", 0, 50),
    ("54", "100", 51, 100),
    ("101", "360", 101, 150),
    ("361", "649", 151, 200),
    ("650", "1249", 201, 300),
    ("1250", "2049", 301, 500),
)

_TABLES = {"pm25": PM25_24H, "pm10": PM10_24H, "so2": SO2_1H, "no2": NO2_1H, "o3": O3_1H, "o3_8h": O3_8H, "co": CO_8H}
# TAD §IV step 1: truncate (never round) to these steps before looking up the breakpoints.
_STEPS = {
    "pm25": Fraction(1, 10),
    "pm10": Fraction(1),
    "so2": Fraction(1),
    "so2_24h": Fraction(1),
    "no2": Fraction(1),
    "o3": Fraction(1, 1000),
    "o3_8h": Fraction(1, 1000),
    "co": Fraction(1, 10),
}
EPA_INPUTS = frozenset(_STEPS)


def epa_aqi(concentrations: Mapping[str, Number | None]) -> AqiResult:
    """Rate concentrations by EPA 2024: pm25/pm10 24-h or NowCast, o3_8h and co 8-h, o3/so2/no2 1-h.

    so2_24h is read only when the 1-hour SO2 is 305 ppb or more. Above 500 the index extends the top
    segment ("Beyond the AQI"). AqiInputError names an input that cannot be rated.
    """
    values = {k: truncate(c, _STEPS[k]) for k, c in exact_inputs(concentrations, EPA_INPUTS).items()}
    iaqi: dict[str, int] = {}
    beyond: list[str] = []
    for key, table in _TABLES.items():
        if key not in values:
            continue
        c = values[key]
        if key == "o3" and c < table[0].c_lo:
            continue
        if key == "o3_8h" and c > top(table):
            if "o3" not in values:
                raise AqiInputError("o3", "EPA rates an 8-hour O3 above 0.200 ppm by its 1-hour value")
            continue
        if key == "so2" and c > top(table):
            index, over = _so2_by_24h(values)
        else:
            index, over = sub_index(table, c), c > top(table)
        # The TAD rounds the index half up (its own example: 125.5 → 126); round() would go to even.
        iaqi[key] = round_half_up(index)
        if over:
            beyond.append(key)
    if not iaqi:
        return AqiResult(Standard.EPA_2024, None)
    iaqi = ordered(iaqi)
    aqi = max(iaqi.values())
    return AqiResult(
        standard=Standard.EPA_2024,
        aqi=aqi,
        iaqi=iaqi,
        primary_pollutants=leaders(iaqi),
        category=category(Standard.EPA_2024, aqi),
        advice=advice(Standard.EPA_2024, aqi, iaqi),
        beyond_index=[p for p in iaqi if p in beyond],
    )


def _so2_by_24h(values: Mapping[str, Fraction]) -> tuple[Fraction, bool]:
    if "so2_24h" not in values:
        raise AqiInputError("so2_24h", "EPA rates a 1-hour SO2 of 305 ppb or more by its 24-hour average")
    c = values["so2_24h"]
    if c < SO2_24H[0].c_lo:
        return Fraction(200), False  # TAD footnote: 1-hour ≥ 305 but 24-hour < 305 ppb gives AQI 200
    return sub_index(SO2_24H, c), c > top(SO2_24H)


_NOWCAST_STEPS = {"pm25": Fraction(1, 10), "pm10": Fraction(1)}


def nowcast(hourly_values: Sequence[Number | None], pollutant: str) -> Decimal | None:
    """Return the PM NowCast, truncated as reported, from hourly values oldest first (None: missing hour).

    Only the last 12 values count; None when fewer than 2 of the 3 latest hours are valid.
    """
    if pollutant not in _NOWCAST_STEPS:
        raise ValueError(f"NowCast is defined here for pm25 and pm10, not {pollutant!r} (O3's is a regression)")
    latest_first = list(hourly_values)[-12:][::-1]
    if sum(v is not None for v in latest_first[:3]) < 2:
        return None
    # Hour i (0 = latest) keeps weight w**i whether or not the hours between are missing.
    hours = {i: exact(v) for i, v in enumerate(latest_first) if v is not None}
    c_max, c_min = max(hours.values()), min(hours.values())
    step = _NOWCAST_STEPS[pollutant]
    if c_max == 0:
        return _decimal(Fraction(0), step)  # all zero: the weight factor is undefined and irrelevant
    w = max(1 - (c_max - c_min) / c_max, Fraction(1, 2))
    value = sum(w**i * c for i, c in hours.items()) / sum(w**i for i in hours)
    return _decimal(truncate(value, step), step)


def _decimal(value: Fraction, step: Fraction) -> Decimal:
    places = len(str(step.denominator)) - 1  # steps are 1 or 1/10
    return Decimal(int(value / step)).scaleb(-places)
