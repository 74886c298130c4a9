"""Shared AQI types and the exact piecewise-linear formula (no framework, no floats)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from fractions import Fraction

# Rated pollutants, in the order results list them. o3 is the 1-hour average (for the China daily
# report under HJ 633-2012: the daily maximum 1-hour average); o3_8h the (daily maximum) 8-hour one.
POLLUTANTS = ("pm25", "pm10", "so2", "no2", "o3", "o3_8h", "co")
# so2_24h is not rated on its own: it stands in for a 1-hour SO2 above the 1-hour table.
INPUTS = (*POLLUTANTS, "so2_24h")

Number = Decimal | int | str | float | Fraction

# Far beyond any table; bounds the size of the exact numbers a caller can make us build.
_MAX_EXPONENT = 30


class Standard(StrEnum):
    HJ633_2026 = "HJ633-2026"
    HJ633_2012 = "HJ633-2012"
    EPA_2024 = "EPA-2024"


class Period(StrEnum):
    HOUR = "hour"
    DAY = "day"


class AqiInputError(ValueError):
    """A concentration the standard cannot rate as given (names the input at fault)."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Category:
    level: int
    zh: str
    en: str
    color: str

    def to_dict(self) -> dict:
        return {"level": self.level, "zh": self.zh, "en": self.en, "color": self.color}


@dataclass(frozen=True)
class AqiResult:
    standard: Standard
    aqi: int | None
    iaqi: dict[str, int] = field(default_factory=dict)
    primary_pollutants: list[str] = field(default_factory=list)
    category: Category | None = None
    advice: dict = field(default_factory=dict)
    # Pollutants whose concentration lies above the table's top (China: capped at 500; EPA: extrapolated).
    beyond_index: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """Return the calculator endpoint's JSON shape."""
        return {
            "standard": str(self.standard),
            "aqi": self.aqi,
            "iaqi": dict(self.iaqi),
            "primary_pollutants": list(self.primary_pollutants),
            "category": self.category.to_dict() if self.category else None,
            "advice": self.advice,
            "beyond_index": list(self.beyond_index),
        }


@dataclass(frozen=True)
class Segment:
    c_lo: Fraction
    c_hi: Fraction
    i_lo: int
    i_hi: int

    def at(self, c: Fraction) -> Fraction:
        """Apply the linear formula (式1 / TAD equation 1) exactly."""
        return Fraction(self.i_hi - self.i_lo) / (self.c_hi - self.c_lo) * (c - self.c_lo) + self.i_lo


Table = tuple[Segment, ...]


def continuous(concentrations: Sequence[str], indexes: Sequence[int]) -> Table:
    """Build a table whose segment k runs from breakpoint k to k+1 (the HJ 633 layout)."""
    cs = [Fraction(c) for c in concentrations]
    return tuple(Segment(cs[k], cs[k + 1], indexes[k], indexes[k + 1]) for k in range(len(cs) - 1))


def rows(*spec: tuple[str, str, int, int]) -> Table:
    """Build a table from printed (C_lo, C_hi, I_lo, I_hi) rows, gaps allowed (the EPA layout)."""
    return tuple(Segment(Fraction(lo), Fraction(hi), i_lo, i_hi) for lo, hi, i_lo, i_hi in spec)


def top(table: Table) -> Fraction:
    return table[-1].c_hi


def sub_index(table: Table, c: Fraction) -> Fraction | None:
    """Return the exact index for c, None below the table; above it, extend the top segment."""
    # The last segment starting at or below c: on a shared breakpoint either side gives the same value.
    candidates = [s for s in table if s.c_lo <= c]
    return candidates[-1].at(c) if candidates else None


def exact(value: Number) -> Fraction:
    """Convert an input concentration to an exact non-negative Fraction (AqiInputError otherwise)."""
    if isinstance(value, bool):
        raise TypeError("a concentration is a number, not a bool")
    if isinstance(value, Fraction | int):
        result = Fraction(value)
    else:
        # A float goes through str(): Fraction(2.2) is the binary double 2.2000000000000001776…, while
        # str(2.2) == "2.2" is the number the caller meant (the float trap of reference/aqi.md §1.3).
        try:
            number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError(f"not a number: {value!r}") from None
        if not number.is_finite():
            raise ValueError(f"not a finite number: {value!r}")
        if number and abs(number.adjusted()) > _MAX_EXPONENT:
            raise ValueError(f"out of range: {value!r}")
        result = Fraction(number)
    if result < 0:
        raise ValueError(f"negative concentration: {value!r}")
    return result


def exact_inputs(concentrations: Mapping[str, Number | None], used: Iterable[str]) -> dict[str, Fraction]:
    """Convert the inputs this report uses (None means not measured); reject unknown names."""
    used = set(used)
    values = {}
    for key, value in concentrations.items():
        if key not in INPUTS:
            raise AqiInputError(key, f"unknown pollutant; expected one of {', '.join(INPUTS)}")
        if value is None or key not in used:
            continue
        try:
            values[key] = exact(value)
        except (TypeError, ValueError) as exc:
            raise AqiInputError(key, str(exc)) from None
    return values


def round_half_up(x: Fraction) -> int:
    return math.floor(x + Fraction(1, 2))


def round_half_even(x: Fraction, step: Fraction) -> Fraction:
    """Round x to a multiple of step, ties to even (GB/T 8170 四舍六入五成双)."""
    # Python's round() on a Fraction is exact and rounds ties to even.
    return round(x / step) * step


def truncate(x: Fraction, step: Fraction) -> Fraction:
    return math.floor(x / step) * step


def leaders(iaqi: Mapping[str, int]) -> list[str]:
    """Return every pollutant sharing the highest sub-index, in POLLUTANTS order."""
    if not iaqi:
        return []
    highest = max(iaqi.values())
    return [p for p in POLLUTANTS if iaqi.get(p) == highest]


def ordered(iaqi: Mapping[str, int]) -> dict[str, int]:
    return {p: iaqi[p] for p in POLLUTANTS if p in iaqi}
