"""China AQI: HJ 633-2012 before 2026-03-01, HJ 633-2026 from then on (reference/aqi.md §1)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime
from fractions import Fraction
from zoneinfo import ZoneInfo

from services.air_quality.aqi_categories import advice, category
from services.air_quality.aqi_core import (
    AqiInputError,
    AqiResult,
    Number,
    Period,
    Standard,
    Table,
    continuous,
    exact_inputs,
    leaders,
    ordered,
    round_half_even,
    sub_index,
    top,
)

CHINA_TZ = ZoneInfo("Asia/Shanghai")
HJ633_2026_FROM = date(2026, 3, 1)  # local (Beijing) date; HJ 633-2026 was issued 2026-02-14

_IAQI = (0, 50, 100, 150, 200, 300, 400, 500)


def _column(*breakpoints: str) -> Table:
    return continuous(breakpoints, _IAQI[: len(breakpoints)])


# HJ 633-2012 表1 / HJ 633-2026 表3; µg/m³ except CO in mg/m³.
SO2_24H = _column("0", "50", "150", "475", "800", "1600", "2100", "2620")
SO2_1H = _column("0", "150", "500", "650", "800")  # ends at IAQI 200: see the >800 rules below
NO2_24H = _column("0", "40", "80", "180", "280", "565", "750", "940")
NO2_1H = _column("0", "100", "200", "700", "1200", "2340", "3090", "3840")
CO_24H = _column("0", "2", "4", "14", "24", "36", "48", "60")
CO_1H = _column("0", "5", "10", "35", "60", "90", "120", "150")
O3_1H = _column("0", "160", "200", "300", "400", "800", "1000", "1200")
O3_8H = _column("0", "100", "160", "215", "265", "800")  # ends at IAQI 300: see the >800 rules below
PM10_24H_2012 = _column("0", "50", "150", "250", "350", "420", "500", "600")
PM10_24H_2026 = _column("0", "50", "120", "250", "350", "420", "500", "600")
PM25_24H_2012 = _column("0", "35", "75", "115", "150", "250", "350", "500")
PM25_24H_2026 = _column("0", "35", "60", "115", "150", "250", "350", "500")

# Which table rates which input in each report. The real-time (hourly) report rates PM against the
# daily table: the 1-hour PM under 2026 (and in CNEMC's practice under 2012), the 24-hour sliding
# average in the 2012 text; either way the caller passes it as pm25/pm10. HJ 633-2012's real-time
# report also lists the 8-hour sliding O3, which CNEMC's published hourly AQI left out: pass o3_8h or
# not. The 2026 reports drop the daily maximum 1-hour O3 and the hourly 8-hour O3.
_REPORTS: dict[tuple[Standard, Period], dict[str, Table]] = {
    (Standard.HJ633_2012, Period.DAY): {
        "pm25": PM25_24H_2012,
        "pm10": PM10_24H_2012,
        "so2": SO2_24H,
        "no2": NO2_24H,
        "o3": O3_1H,
        "o3_8h": O3_8H,
        "co": CO_24H,
    },
    (Standard.HJ633_2026, Period.DAY): {
        "pm25": PM25_24H_2026,
        "pm10": PM10_24H_2026,
        "so2": SO2_24H,
        "no2": NO2_24H,
        "o3_8h": O3_8H,
        "co": CO_24H,
    },
    (Standard.HJ633_2012, Period.HOUR): {
        "pm25": PM25_24H_2012,
        "pm10": PM10_24H_2012,
        "so2": SO2_1H,
        "no2": NO2_1H,
        "o3": O3_1H,
        "o3_8h": O3_8H,
        "co": CO_1H,
    },
    (Standard.HJ633_2026, Period.HOUR): {
        "pm25": PM25_24H_2026,
        "pm10": PM10_24H_2026,
        "so2": SO2_1H,
        "no2": NO2_1H,
        "o3": O3_1H,
        "co": CO_1H,
    },
}

_ONE = Fraction(1)
_TENTH = Fraction(1, 10)


def standard_for(observed_at: datetime | date | None = None) -> Standard:
    """Return the China standard in force at observed_at (an aware datetime or a Beijing date; None: now)."""
    if observed_at is None:
        observed_at = datetime.now(CHINA_TZ)
    if isinstance(observed_at, datetime):
        if observed_at.tzinfo is None:
            raise ValueError("observed_at must be timezone-aware")
        observed_at = observed_at.astimezone(CHINA_TZ).date()
    return Standard.HJ633_2026 if observed_at >= HJ633_2026_FROM else Standard.HJ633_2012


def china_inputs(standard: Standard, period: Period) -> frozenset[str]:
    """Return the input names a China report uses (so2_24h: only the 2012 hourly fallback)."""
    keys = set(_REPORTS[Standard(standard), Period(period)])
    if standard == Standard.HJ633_2012 and period == Period.HOUR:
        keys.add("so2_24h")
    return frozenset(keys)


def china_aqi(
    concentrations: Mapping[str, Number | None],
    *,
    period: Period,
    standard: Standard | None = None,
    observed_at: datetime | date | None = None,
) -> AqiResult:
    """Rate concentrations (the report's averages, µg/m³ and CO mg/m³) by HJ 633.

    Without a standard, the one in force at observed_at (now when None) applies. Inputs the report
    does not use are ignored; AqiInputError names an input that cannot be rated.
    """
    standard = Standard(standard) if standard else standard_for(observed_at)
    period = Period(period)
    if standard is Standard.EPA_2024:
        raise ValueError("EPA-2024 is not a China standard: use epa_aqi")
    values = exact_inputs(concentrations, china_inputs(standard, period))
    if standard is Standard.HJ633_2026:
        # 2026 §4.2.2/4.2.3: integer µg/m³ and CO to 0.1 mg/m³, by GB/T 8170, before the formula.
        values = {k: round_half_even(c, _TENTH if k == "co" else _ONE) for k, c in values.items()}

    iaqi: dict[str, int] = {}
    beyond: list[str] = []
    for key, table in _REPORTS[standard, period].items():
        if key not in values:
            continue
        c, over = values[key], False
        if table is SO2_1H and c > top(SO2_1H):
            iaqi["so2"], over = _so2_above_800(standard, values)
        elif table is O3_8H and c > top(O3_8H):
            iaqi.update(_o3_8h_above_800(standard, values))
        else:
            iaqi[key], over = _rated(table, c)
        if over:
            beyond.append(key)
    return _result(standard, iaqi, beyond)


def _rated(table: Table, c: Fraction) -> tuple[int, bool]:
    """Return the IAQI of c and whether c lies above the table."""
    if c > top(table):
        # Neither version defines the index above its 500 column: cap it there and say so.
        return 500, True
    return math.ceil(sub_index(table, c)), False  # always up: 2012 §6.2, 2026 §4.2.6


def _so2_above_800(standard: Standard, values: Mapping[str, Fraction]) -> tuple[int, bool]:
    if standard is Standard.HJ633_2026:
        return 200, False  # 2026 表3 note: SO2 1-h above 800 µg/m³ counts as IAQI 200
    # 2012 表1 note: no 1-h IAQI; SO2 reports the IAQI of its 24-h average instead.
    if "so2_24h" not in values:
        raise AqiInputError("so2_24h", "HJ 633-2012 rates a 1-hour SO2 above 800 µg/m³ by its 24-hour average")
    return _rated(SO2_24H, values["so2_24h"])


def _o3_8h_above_800(standard: Standard, values: Mapping[str, Fraction]) -> dict[str, int]:
    if standard is Standard.HJ633_2026:
        return {"o3_8h": 300}  # 2026 表3 note: O3 8-h above 800 µg/m³ counts as IAQI 300
    # 2012 表1 note: no 8-h IAQI; O3 reports the IAQI of its 1-h value, which o3 already carries.
    if "o3" not in values:
        raise AqiInputError("o3", "HJ 633-2012 rates an 8-hour O3 above 800 µg/m³ by its 1-hour value")
    return {}


def _result(standard: Standard, iaqi: dict[str, int], beyond: list[str]) -> AqiResult:
    if not iaqi:
        return AqiResult(standard, None)
    aqi = max(iaqi.values())
    if standard is Standard.HJ633_2026:
        aqi = max(aqi, 1)  # 2026 §4.1.1: the AQI ranges over 1-500
    iaqi = ordered(iaqi)
    return AqiResult(
        standard=standard,
        aqi=aqi,
        iaqi=iaqi,
        # 首要污染物 only above 50; tied pollutants are all primary.
        primary_pollutants=leaders(iaqi) if aqi > 50 else [],
        category=category(standard, aqi),
        advice=advice(standard, aqi, iaqi),
        beyond_index=[p for p in iaqi if p in beyond],
    )
