"""The plan's PM2.5 KPI: annual and rolling-365-day means against the baseline, the −25 % target and
the GB 3095 Grade II limits in force (pure: no I/O).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from statistics import fmean

ANNUAL_MIN_DAYS = 324  # GB 3095-2026 表4: an annual mean needs at least 324 daily values…
MONTH_MIN_DAYS, FEBRUARY_MIN_DAYS = 27, 25  # …and at least 27 in every month (25 in February)
TARGET_REDUCTION = 0.25  # plan ch. 2: "力争PM2.5年均浓度比“十二五”时期下降25%"


@dataclass(frozen=True)
class Limits:
    """PM2.5 Grade II limits (µg/m³) that apply on a date."""

    standard: str
    annual: float
    daily: float
    standard_zh: str = ""


def pm25_limits(day: date) -> Limits:
    """GB 3095-2012 until 2026-02-28; GB 3095-2026 transitional until 2030-12-31; its final limits after."""
    if day < date(2026, 3, 1):
        return Limits("GB 3095-2012 Grade II", 35, 75, "GB 3095-2012 二级")
    if day <= date(2030, 12, 31):
        return Limits("GB 3095-2026 Grade II (transitional)", 30, 60, "GB 3095-2026 二级（过渡期）")
    return Limits("GB 3095-2026 Grade II", 25, 50, "GB 3095-2026 二级")


@dataclass(frozen=True)
class Baseline:
    """The 12th-FYP PM2.5 level the plan measures against; the plan names no number, so it is configured."""

    value: float | None
    label: str


def period_mean(daily: Mapping[date, float | None], first: date, last: date, *, calendar_year: bool) -> dict:
    """Mean of the valid daily values in [first, last], with the validity verdict and its counts."""
    days = [first + timedelta(n) for n in range((last - first).days + 1)]
    values = [v for d in days if (v := daily.get(d)) is not None]
    reasons = []
    if len(values) < ANNUAL_MIN_DAYS:
        reasons.append(f"{len(values)} valid days, at least {ANNUAL_MIN_DAYS} needed")
    if calendar_year:
        for month in range(1, 13):
            count = sum(1 for d in days if d.month == month and daily.get(d) is not None)
            need = FEBRUARY_MIN_DAYS if month == 2 else MONTH_MIN_DAYS
            if count < need:
                reasons.append(f"month {month}: {count} valid days, at least {need} needed")
    return {
        "first": first,
        "last": last,
        "valid_days": len(values),
        "valid": not reasons,
        "invalid_reasons": reasons,
        # Only a valid mean is reported as the period's value; the rest is shown as the partial mean.
        "mean": fmean(values) if values and not reasons else None,
        "partial_mean": fmean(values) if values else None,
    }


def assess(result: dict, daily: Mapping[date, float | None], baseline: Baseline, limits: Limits) -> dict:
    """Add the comparisons: target (baseline −25 %), reduction achieved, the limits and daily exceedances."""
    target = baseline.value * (1 - TARGET_REDUCTION) if baseline.value else None
    mean = result["mean"]
    days = [result["first"] + timedelta(n) for n in range((result["last"] - result["first"]).days + 1)]
    return result | {
        "baseline": {"value": baseline.value, "label": baseline.label},
        "target": target,
        "reduction": (baseline.value - mean) / baseline.value if mean is not None and baseline.value else None,
        "meets_target": mean <= target if mean is not None and target is not None else None,
        "limits": {
            "standard": limits.standard,
            "standard_zh": limits.standard_zh,
            "annual": limits.annual,
            "daily": limits.daily,
        },
        "meets_annual_limit": mean <= limits.annual if mean is not None else None,
        "days_over_daily_limit": sum(1 for d in days if (v := daily.get(d)) is not None and v > limits.daily),
    }


def pm25_kpi(daily: Mapping[date, float | None], today: date, year: int, baseline: Baseline) -> dict:
    """The calendar ``year`` and the 365 days ending yesterday (today's day is not complete yet)."""
    year_last = min(date(year, 12, 31), today - timedelta(1))
    annual = period_mean(daily, date(year, 1, 1), year_last, calendar_year=True)
    rolling_last = today - timedelta(1)
    rolling = period_mean(daily, rolling_last - timedelta(364), rolling_last, calendar_year=False)
    return {
        "annual": assess(annual | {"year": year}, daily, baseline, pm25_limits(year_last)),
        "rolling_365": assess(rolling, daily, baseline, pm25_limits(rolling_last)),
    }
