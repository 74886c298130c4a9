"""Validity minima of the hourly, daily and annual means, the hourly AQI's standard, and the KPI."""

from datetime import UTC, date, datetime, timedelta

from services.air_quality.kpi import Baseline, pm25_kpi, pm25_limits
from services.air_quality.rollup import RawReading, daily_means, day_hours, hourly_aqi, hourly_means

H = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # 10:00 in Tianjin


def readings(minutes, value=50.0, quality=None):
    return [RawReading(H + timedelta(minutes=m), {"pm25": value}, quality) for m in minutes]


def test_an_hour_needs_45_minutes_of_sampling():
    assert hourly_means(H, readings(range(0, 45, 5))).means["pm25"] == 50.0  # 9 five-minute slots
    short = hourly_means(H, readings(range(0, 40, 5)))  # 8 slots
    assert short.means["pm25"] is None and short.slots["pm25"] == 8
    # Many readings in few minutes are still few minutes.
    assert hourly_means(H, readings([m / 10 for m in range(300)])).means["pm25"] is None


def test_flagged_values_stay_out_of_the_mean():
    good = readings(range(0, 60, 5), 40.0)
    bad = readings([1, 2, 3], 900.0, {"pm25": "spike"})
    result = hourly_means(H, good + bad)
    assert result.means["pm25"] == 40.0 and result.flagged == {"pm25": 3}


def test_hourly_aqi_uses_the_standard_in_force_that_hour():
    means = {"pm25": 75.0}
    before = hourly_aqi(datetime(2026, 2, 28, 15, tzinfo=UTC), means, ["pm25"])
    after = hourly_aqi(datetime(2026, 2, 28, 16, tzinfo=UTC), means, ["pm25"])  # 2026-03-01 00:00 Beijing
    assert (before.standard, before.aqi) == ("HJ633-2012", 100)
    assert (after.standard, after.aqi) == ("HJ633-2026", 114)


def test_an_incomplete_hourly_aqi_is_published_only_above_100():
    measured = ["pm25", "pm10"]
    assert hourly_aqi(H, {"pm25": 50.0}, measured).aqi is None  # pm10 missing, AQI 80: NA
    assert hourly_aqi(H, {"pm25": 100.0}, measured).aqi == 137  # pm10 missing but AQI > 100
    assert hourly_aqi(H, {"pm25": 50.0, "pm10": 80.0}, measured).aqi == 80


def test_a_day_needs_20_hourly_values():
    day = date(2026, 11, 26)
    hours = day_hours(day)
    assert hours[0] == datetime(2026, 11, 25, 16, tzinfo=UTC)  # local midnight
    full = daily_means(day, {h: {"pm25": 30.0} for h in hours[:20]})
    assert full.means["pm25"] == 30.0 and full.hours["pm25"] == 20
    short = daily_means(day, {h: {"pm25": 30.0} for h in hours[:19]})
    assert short.means["pm25"] is None and short.hours["pm25"] == 19


def test_daily_max_8_hour_o3_needs_6_values_per_window_and_14_windows():
    day = date(2026, 7, 1)
    hours = day_hours(day)
    o3 = {h: {"o3": 100.0 + k} for k, h in enumerate(hours)}
    result = daily_means(day, o3)
    assert result.o3_8h_max == sum(100.0 + k for k in range(16, 24)) / 8 and result.hours["o3_8h"] == 17
    # Hours 0-8 gone: a window keeps 6 values only from the one ending 15:00 on, so 10 windows (< 14).
    sparse = daily_means(day, {h: v for h, v in o3.items() if h not in hours[:9]})
    assert sparse.o3_8h_max is None and sparse.hours["o3_8h"] == 10


def test_limits_follow_gb3095():
    assert (pm25_limits(date(2026, 2, 28)).annual, pm25_limits(date(2026, 2, 28)).daily) == (35, 75)
    assert (pm25_limits(date(2026, 3, 1)).annual, pm25_limits(date(2026, 3, 1)).daily) == (30, 60)
    assert (pm25_limits(date(2031, 1, 1)).annual, pm25_limits(date(2031, 1, 1)).daily) == (25, 50)


def test_kpi_reports_an_invalid_year_as_such_and_a_valid_rolling_year():
    today = date(2027, 3, 1)
    daily = {today - timedelta(n): 40.0 for n in range(1, 331)}  # 330 valid days before today
    daily[today - timedelta(2)] = 70.0  # one day over the daily limit
    kpi = pm25_kpi(daily, today, 2027, Baseline(60.0, "sample"))
    assert kpi["annual"]["valid"] is False and kpi["annual"]["mean"] is None
    assert kpi["annual"]["partial_mean"] is not None
    rolling = kpi["rolling_365"]
    assert rolling["valid"] and rolling["valid_days"] == 330
    assert rolling["target"] == 45.0 and rolling["meets_target"] is True
    assert rolling["limits"]["annual"] == 30 and rolling["meets_annual_limit"] is False
    assert rolling["limits"]["standard_zh"] == "GB 3095-2026 二级（过渡期）"  # shown on the zh page
    assert rolling["days_over_daily_limit"] == 1


def test_kpi_without_a_baseline_has_no_target():
    kpi = pm25_kpi({}, date(2027, 3, 1), 2027, Baseline(None, "not configured"))
    assert kpi["rolling_365"]["target"] is None and kpi["rolling_365"]["meets_target"] is None
