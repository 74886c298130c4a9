"""Air-quality index in exact arithmetic: China HJ 633-2012/2026 and US EPA 2024 (reference/aqi.md).

Pure domain code: no framework, no I/O. The tables and rules live in aqi_china, aqi_epa and
aqi_categories; this module is the one to import.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

from services.air_quality.aqi_china import china_aqi, china_inputs, standard_for
from services.air_quality.aqi_core import (
    INPUTS,
    POLLUTANTS,
    AqiInputError,
    AqiResult,
    Category,
    Number,
    Period,
    Standard,
)
from services.air_quality.aqi_epa import EPA_INPUTS, epa_aqi, nowcast

__all__ = [
    "INPUTS",
    "POLLUTANTS",
    "AqiInputError",
    "AqiResult",
    "Category",
    "Period",
    "Standard",
    "calculate",
    "china_aqi",
    "epa_aqi",
    "inputs",
    "nowcast",
    "standard_for",
]


def inputs(standard: Standard, period: Period) -> frozenset[str]:
    """Return the input names a standard's report for a period uses."""
    return EPA_INPUTS if Standard(standard) is Standard.EPA_2024 else china_inputs(standard, period)


def calculate(
    concentrations: Mapping[str, Number | None],
    *,
    standard: Standard | None = None,
    period: Period = Period.HOUR,
    observed_at: datetime | date | None = None,
) -> AqiResult:
    """Rate concentrations by any supported standard (None: the China standard in force at observed_at).

    EPA's tables fix each pollutant's averaging time, so period does not change an EPA rating.
    """
    if standard is not None and Standard(standard) is Standard.EPA_2024:
        return epa_aqi(concentrations)
    return china_aqi(concentrations, period=period, standard=standard, observed_at=observed_at)
