"""The AQI module against every check of reference/aqi.md §3, for HJ 633-2012, HJ 633-2026 and EPA 2024."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from services.air_quality.aqi import (
    AqiInputError,
    Period,
    Standard,
    calculate,
    china_aqi,
    epa_aqi,
    inputs,
    nowcast,
    standard_for,
)
from services.air_quality.aqi_categories import category

OLD, NEW, EPA = Standard.HJ633_2012, Standard.HJ633_2026, Standard.EPA_2024
HOUR, DAY = Period.HOUR, Period.DAY
BOTH = (OLD, NEW)


def iaqi(standard, period, **concentrations):
    return china_aqi(concentrations, period=period, standard=standard).iaqi


# ---- §3.1: a concentration on a breakpoint maps to exactly that row's IAQI (both versions) ----------

IAQI_ROWS = (0, 50, 100, 150, 200, 300, 400, 500)
# reference/aqi.md §1.1, typed again here: column -> (period, input, 2012 breakpoints, 2026 breakpoints).
PM10_2012 = (0, 50, 150, 250, 350, 420, 500, 600)
PM10_2026 = (0, 50, 120, 250, 350, 420, 500, 600)
PM25_2012 = (0, 35, 75, 115, 150, 250, 350, 500)
PM25_2026 = (0, 35, 60, 115, 150, 250, 350, 500)
CHINA_COLUMNS = {
    "SO2 24h": (DAY, "so2", (0, 50, 150, 475, 800, 1600, 2100, 2620), None),
    "SO2 1h": (HOUR, "so2", (0, 150, 500, 650, 800), None),
    "NO2 24h": (DAY, "no2", (0, 40, 80, 180, 280, 565, 750, 940), None),
    "NO2 1h": (HOUR, "no2", (0, 100, 200, 700, 1200, 2340, 3090, 3840), None),
    "PM10 24h": (DAY, "pm10", PM10_2012, PM10_2026),
    "PM10 hourly (daily table)": (HOUR, "pm10", PM10_2012, PM10_2026),
    "CO 24h": (DAY, "co", (0, 2, 4, 14, 24, 36, 48, 60), None),
    "CO 1h": (HOUR, "co", (0, 5, 10, 35, 60, 90, 120, 150), None),
    "O3 1h": (HOUR, "o3", (0, 160, 200, 300, 400, 800, 1000, 1200), None),
    "O3 8h": (DAY, "o3_8h", (0, 100, 160, 215, 265, 800), None),
    "PM2.5 24h": (DAY, "pm25", PM25_2012, PM25_2026),
    "PM2.5 hourly (daily table)": (HOUR, "pm25", PM25_2012, PM25_2026),
}
BREAKPOINT_CASES = [
    pytest.param(standard, period, key, bp, row, id=f"{standard}-{column}-{bp}")
    for column, (period, key, old, new) in CHINA_COLUMNS.items()
    for standard, bps in ((OLD, old), (NEW, new or old))
    for bp, row in zip(bps, IAQI_ROWS, strict=False)
]


@pytest.mark.parametrize(("standard", "period", "key", "concentration", "expected"), BREAKPOINT_CASES)
def test_china_breakpoint_gives_its_row(standard, period, key, concentration, expected):
    assert iaqi(standard, period, **{key: concentration}) == {key: expected}


def test_2012_daily_report_rates_the_daily_maximum_1h_o3_on_the_1h_table():
    for bp, row in zip((0, 160, 200, 300, 400, 800, 1000, 1200), IAQI_ROWS, strict=True):
        assert iaqi(OLD, DAY, o3=bp) == {"o3": row}


@pytest.mark.parametrize(
    ("standard", "period", "expected"),
    [
        (OLD, DAY, {"pm25", "pm10", "so2", "no2", "co", "o3", "o3_8h"}),  # 7 indicators
        (NEW, DAY, {"pm25", "pm10", "so2", "no2", "co", "o3_8h"}),  # 6: no daily maximum 1-h O3
        (OLD, HOUR, {"pm25", "pm10", "so2", "no2", "co", "o3", "o3_8h", "so2_24h"}),
        (NEW, HOUR, {"pm25", "pm10", "so2", "no2", "co", "o3"}),  # 6, all 1-hour averages
    ],
)
def test_which_averages_feed_each_report(standard, period, expected):
    assert inputs(standard, period) == expected


def test_inputs_a_report_does_not_use_are_ignored():
    assert iaqi(NEW, DAY, o3=1000, pm25=35) == {"pm25": 50}
    assert iaqi(NEW, HOUR, o3_8h=1000, pm25=35) == {"pm25": 50}


# ---- §3.2: the version switch -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "concentrations", "old", "new"),
    [
        (DAY, {"pm25": 75}, {"pm25": 100}, {"pm25": 114}),
        (DAY, {"pm10": 150}, {"pm10": 100}, {"pm10": 112}),
        (HOUR, {"pm25": 75}, {"pm25": 100}, {"pm25": 114}),
        # SO2 1h > 800: 2012 reports the 24-h IAQI (100 µg/m³ → 75); 2026 takes 200.
        (HOUR, {"so2": 801, "so2_24h": 100}, {"so2": 75}, {"so2": 200}),
        # O3 8h > 800: 2012 reports the 1-h IAQI (900 µg/m³ → 350) and drops the 8-h one; 2026 takes 300.
        (DAY, {"o3_8h": 801, "o3": 900}, {"o3": 350}, {"o3_8h": 300}),
    ],
)
def test_version_switch(period, concentrations, old, new):
    assert china_aqi(concentrations, period=period, standard=OLD).iaqi == old
    new_inputs = {k: v for k, v in concentrations.items() if k in inputs(NEW, period)}
    assert china_aqi(new_inputs, period=period, standard=NEW).iaqi == new


@pytest.mark.parametrize(
    ("observed_at", "expected"),
    [
        (date(2026, 2, 28), OLD),
        (date(2026, 3, 1), NEW),
        (datetime(2026, 2, 28, 15, 59, 59, tzinfo=UTC), OLD),  # 23:59:59 in Beijing
        (datetime(2026, 2, 28, 16, 0, tzinfo=UTC), NEW),  # 2026-03-01 00:00 in Beijing
        (datetime(2012, 6, 1, tzinfo=UTC), OLD),
    ],
)
def test_the_standard_in_force_at_the_observation_applies(observed_at, expected):
    assert standard_for(observed_at) is expected
    result = china_aqi({"pm25": 75}, period=DAY, observed_at=observed_at)
    assert (result.standard, result.aqi) == (expected, 100 if expected is OLD else 114)


def test_observed_at_must_be_timezone_aware():
    with pytest.raises(ValueError, match="timezone-aware"):
        standard_for(datetime(2026, 3, 1))


def test_2012_so2_above_800_needs_the_24h_average():
    with pytest.raises(AqiInputError) as err:
        china_aqi({"so2": 801}, period=HOUR, standard=OLD)
    assert err.value.field == "so2_24h"
    assert iaqi(OLD, HOUR, so2=800) == {"so2": 200}  # on the top breakpoint: still the 1-h table


def test_2012_o3_8h_above_800_needs_the_1h_value():
    with pytest.raises(AqiInputError) as err:
        china_aqi({"o3_8h": 801}, period=DAY, standard=OLD)
    assert err.value.field == "o3"
    assert iaqi(OLD, DAY, o3_8h=800) == {"o3_8h": 300}


def test_2026_above_800_rules_apply_after_rounding():
    assert iaqi(NEW, HOUR, so2="800.4") == {"so2": 200}
    assert iaqi(NEW, HOUR, so2=5000) == {"so2": 200}
    assert iaqi(NEW, DAY, o3_8h="800.6") == {"o3_8h": 300}
    assert china_aqi({"so2": 5000}, period=HOUR, standard=NEW).beyond_index == []


# ---- §3.3: rounding traps ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("standard", "period", "key", "concentration", "expected"),
    [
        (OLD, DAY, "co", "2.2", 55),  # floats give 55.000000000000014 → 56
        (NEW, DAY, "co", "2.2", 55),
        (NEW, DAY, "pm25", "35.5", 52),  # rounded half-even to 36 first
        (OLD, DAY, "pm25", "35.5", 51),  # 2012: no concentration rounding, 50.625 → 51
        (NEW, DAY, "pm25", "34.5", 49),  # half-even to 34
        (OLD, DAY, "pm25", "34.5", 50),
        (NEW, DAY, "pm25", "35.51", 52),
        (NEW, DAY, "co", "2.25", 55),  # half-even to 2.2
        (NEW, DAY, "co", "2.35", 60),  # half-even to 2.4
        (OLD, HOUR, "no2", 250, 105),
        (NEW, HOUR, "no2", 250, 105),
        (OLD, DAY, "pm25", 36, 52),  # 51.25 rounds up
        (NEW, DAY, "pm25", 36, 52),
        (NEW, DAY, "pm25", 75, 114),  # 113.64 rounds up
    ],
)
def test_rounding(standard, period, key, concentration, expected):
    assert iaqi(standard, period, **{key: concentration}) == {key: expected}


@pytest.mark.parametrize("value", ["2.2", Decimal("2.2"), 2.2, Decimal("2.20")])
def test_any_number_type_gives_the_exact_result(value):
    assert iaqi(NEW, DAY, co=value) == {"co": 55}


@pytest.mark.parametrize("standard", BOTH)
@pytest.mark.parametrize(
    ("period", "breakpoints"),
    [(DAY, (0, 2, 4, 14, 24, 36, 48, 60)), (HOUR, (0, 5, 10, 35, 60, 90, 120, 150))],
)
def test_every_co_tenth_matches_integer_arithmetic(standard, period, breakpoints):
    # The float trap hit CO only (23 cases in the 2026 table): check every 0.1 mg/m³ with integers alone.
    tenths = [10 * b for b in breakpoints]
    for t in range(tenths[-1] + 1):
        k = max(i for i in range(len(tenths) - 1) if tenths[i] <= t)
        i_lo, i_hi, lo, hi = IAQI_ROWS[k], IAQI_ROWS[k + 1], tenths[k], tenths[k + 1]
        expected = i_lo - (-(i_hi - i_lo) * (t - lo) // (hi - lo))  # I_lo + ceil(...)
        assert iaqi(standard, period, co=f"{t // 10}.{t % 10}") == {"co": expected}, t


# ---- values above the top breakpoint and other edges ------------------------------------------------


@pytest.mark.parametrize("standard", BOTH)
def test_above_the_500_column_is_capped_and_flagged(standard):
    result = china_aqi({"pm25": 900, "pm10": 100}, period=DAY, standard=standard)
    assert (result.aqi, result.iaqi["pm25"], result.beyond_index) == (500, 500, ["pm25"])
    assert result.category.level == 6


def test_2012_so2_fallback_above_its_24h_table_is_capped_and_flagged():
    result = china_aqi({"so2": 900, "so2_24h": 3000}, period=HOUR, standard=OLD)
    assert (result.iaqi, result.beyond_index) == ({"so2": 500}, ["so2"])


def test_2026_rounding_decides_beyond_the_index():
    assert china_aqi({"pm25": "500.4"}, period=DAY, standard=NEW).beyond_index == []
    assert china_aqi({"pm25": "500.6"}, period=DAY, standard=NEW).beyond_index == ["pm25"]


def test_2026_aqi_ranges_from_1():
    assert china_aqi({"so2": "0.4", "co": "0.04"}, period=HOUR, standard=NEW).aqi == 1
    assert china_aqi({"so2": "0.4", "co": "0.04"}, period=HOUR, standard=NEW).iaqi == {"so2": 0, "co": 0}
    assert china_aqi({"so2": 0}, period=HOUR, standard=OLD).aqi == 0


@pytest.mark.parametrize("rate", [lambda c: china_aqi(c, period=DAY, standard=NEW), epa_aqi])
def test_nothing_rated_gives_a_null_aqi(rate):
    result = rate({"pm25": None})
    assert (result.aqi, result.iaqi, result.primary_pollutants, result.category, result.advice) == (
        None,
        {},
        [],
        None,
        {},
    )
    assert result.to_dict()["aqi"] is None


@pytest.mark.parametrize("bad", [-1, "-0.1", "abc", "NaN", "Infinity", float("nan"), True, "1e-99999999", "1e999"])
def test_bad_concentrations_are_refused_with_the_input_named(bad):
    with pytest.raises(AqiInputError) as err:
        china_aqi({"pm10": 10, "pm25": bad}, period=DAY, standard=NEW)
    assert err.value.field == "pm25"


def test_unknown_pollutant_is_refused():
    with pytest.raises(AqiInputError, match="pm2_5"):
        china_aqi({"pm2_5": 10}, period=DAY, standard=NEW)


def test_epa_is_not_a_china_standard():
    with pytest.raises(ValueError, match="epa_aqi"):
        china_aqi({"pm25": 10}, period=DAY, standard=EPA)


# ---- §3.4: primary pollutants -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("standard", "concentrations", "aqi", "primary"),
    [
        (NEW, {"pm25": 35, "pm10": 20}, 50, []),  # AQI ≤ 50: none
        (NEW, {"pm25": 35, "pm10": 50}, 50, []),  # a tie at 50 is still none
        (NEW, {"pm25": 36, "pm10": 20}, 52, ["pm25"]),
        (OLD, {"pm25": 36, "pm10": 20}, 52, ["pm25"]),
        (NEW, {"pm25": 60, "pm10": 120, "so2": 150, "no2": 40}, 100, ["pm25", "pm10", "so2"]),  # ties all listed
        (OLD, {"pm25": 75, "pm10": 150, "so2": 40}, 100, ["pm25", "pm10"]),
        (OLD, {"o3": 200, "o3_8h": 160}, 100, ["o3", "o3_8h"]),
    ],
)
def test_primary_pollutants(standard, concentrations, aqi, primary):
    result = china_aqi(concentrations, period=DAY, standard=standard)
    assert (result.aqi, result.primary_pollutants) == (aqi, primary)


def test_epa_ties_list_every_pollutant():
    result = epa_aqi({"pm25": "35.4", "co": "9.4", "no2": 10})
    assert (result.aqi, result.primary_pollutants) == (100, ["pm25", "co"])


# ---- §3.5: categories, colours and advice -----------------------------------------------------------

CHINA = [
    (1, "优", "#00E400"),
    (2, "良", "#FFFF00"),
    (3, "轻度污染", "#FF7E00"),
    (4, "中度污染", "#FF0000"),
    (5, "重度污染", "#99004C"),
    (6, "严重污染", "#7E0023"),
]
US = [
    (1, "Good", "#00E400"),
    (2, "Moderate", "#FFFF00"),
    (3, "Unhealthy for Sensitive Groups", "#FF7E00"),
    (4, "Unhealthy", "#FF0000"),
    (5, "Very Unhealthy", "#8F3F97"),  # 143,63,151
    (6, "Hazardous", "#7E0023"),
]
BANDS = [(0, 1), (1, 1), (50, 1), (51, 2), (100, 2), (101, 3), (150, 3), (151, 4), (200, 4), (201, 5), (300, 5)]
BANDS += [(301, 6), (500, 6), (549, 6)]


@pytest.mark.parametrize(("aqi", "level"), BANDS)
def test_categories(aqi, level):
    for standard in BOTH:
        c = category(standard, aqi)
        assert (c.level, c.zh, c.color) == CHINA[level - 1]
    c = category(EPA, aqi)
    assert (c.level, c.en, c.color) == US[level - 1]


def test_purples_differ():
    china = china_aqi({"pm25": 200}, period=DAY, standard=NEW)  # IAQI 250
    epa = epa_aqi({"pm25": "200.0"})
    assert china.to_dict()["category"] == {"level": 5, "zh": "重度污染", "en": "Heavily polluted", "color": "#99004C"}
    assert epa.to_dict()["category"]["color"] == "#8F3F97"


def test_advice_follows_each_version_wording():
    old = china_aqi({"pm25": 100}, period=DAY, standard=OLD).advice
    new = china_aqi({"pm25": 100}, period=DAY, standard=NEW).advice
    assert old["measures"]["zh"] == "儿童、老年人及心脏病、呼吸系统疾病患者应减少长时间、高强度的户外锻炼"
    assert new["measures"]["zh"] == "青少年儿童、老年人及心血管系统疾病、呼吸系统疾病患者应减少长时间、高强度的户外锻炼"
    assert old["health_effects"]["zh"].startswith("易感人群") and new["health_effects"]["zh"].startswith("敏感人群")
    assert all(old[part]["en"] and new[part]["en"] for part in ("health_effects", "measures"))


def test_sensitive_groups_for_pollutants_above_100():
    result = china_aqi({"pm25": 100, "pm10": 300, "co": 5, "so2": 100}, period=DAY, standard=NEW)
    assert result.iaqi == {"pm25": 137, "pm10": 175, "so2": 75, "co": 105}
    groups = result.advice["sensitive_groups"]
    assert [g["pollutants"] for g in groups] == [["pm25", "pm10"], ["co"]]
    assert groups[1]["zh"] == "患有心血管系统疾病的人"
    assert all(g["en"] for g in groups)
    # exactly 100 is not above 100; HJ 633-2012 has no sensitive-groups table.
    assert china_aqi({"pm25": 60}, period=DAY, standard=NEW).advice["sensitive_groups"] == []
    assert china_aqi({"pm25": 300}, period=DAY, standard=OLD).advice["sensitive_groups"] == []


def test_epa_advice_and_sensitive_groups():
    advice = epa_aqi({"o3_8h": "0.090", "co": "1.0"}).advice
    assert advice["health_effects"]["en"].startswith("Some members of the general public")
    assert [g["pollutants"] for g in advice["sensitive_groups"]] == [["o3_8h"]]


def test_to_dict_is_the_endpoint_shape():
    body = china_aqi({"pm25": 75, "co": "1.0"}, period=DAY, standard=NEW).to_dict()
    assert list(body) == ["standard", "aqi", "iaqi", "primary_pollutants", "category", "advice", "beyond_index"]
    assert body["iaqi"] == {"pm25": 114, "co": 25}
    assert set(body["advice"]) == {"health_effects", "measures", "sensitive_groups"}


# ---- §3.6: EPA 2024 ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "concentration", "expected"),
    [
        ("o3_8h", "0.07853333", 126),  # TAD example: truncated to 0.078, 125.5 rounds half up
        ("pm25", "35.9", 102),
        ("co", "8.4", 90),
        ("pm25", "12.0", 56),  # 2024 table (pre-2024: 50)
        ("pm25", "9.0", 50),
        ("pm25", "9.05", 50),  # truncated to 9.0, stays Good
        ("pm25", "9.1", 51),
        ("pm25", "325.4", 500),
        ("pm25", "350.0", 549),  # beyond the index: extrapolated along 301-500
        ("co", "1.1", 13),  # exactly 12.5: half up, where round() would give 12
        ("o3_8h", "0.072", 105),  # exactly 104.5
        ("o3", "0.162", 147),  # 147.487; the TAD's "148" is an arithmetic slip
        ("o3", "0.125", 101),
        ("pm10", "54.9", 50),  # truncated to 54
        ("so2", 35, 50),
        ("so2", 304, 200),
        ("no2", 2049, 500),
        ("pm25", 0, 0),
    ],
)
def test_epa_sub_indexes(key, concentration, expected):
    assert epa_aqi({key: concentration}).iaqi == {key: expected}


def test_epa_tad_worked_example():
    result = epa_aqi({"o3_8h": "0.07853333", "pm25": "35.9", "co": "8.4"})
    assert (result.aqi, result.primary_pollutants) == (126, ["o3_8h"])
    assert result.category.en == "Unhealthy for Sensitive Groups"


def test_epa_beyond_the_index_is_flagged():
    result = epa_aqi({"pm25": "350.0", "pm10": 100})
    assert (result.aqi, result.beyond_index, result.category.level) == (549, ["pm25"], 6)


def test_epa_ozone_rules():
    assert epa_aqi({"o3": "0.124"}).aqi is None  # 1-h O3 below 0.125 ppm is disregarded
    assert epa_aqi({"o3": "0.124", "o3_8h": "0.060"}).iaqi == {"o3_8h": 67}
    assert epa_aqi({"o3": "0.130", "o3_8h": "0.060"}).aqi == 107  # the larger of 1-h and 8-h
    assert epa_aqi({"o3": "0.405", "o3_8h": "0.201"}).iaqi == {"o3": 301}  # 8-h defines nothing above 300
    with pytest.raises(AqiInputError) as err:
        epa_aqi({"o3_8h": "0.201"})
    assert err.value.field == "o3"


@pytest.mark.parametrize(
    ("so2", "so2_24h", "expected"),
    [
        (304, 900, 200),  # 1-h table: the 24-h value is not read
        (305, 304, 200),  # 1-h ≥ 305 but 24-h < 305: fixed at 200
        (400, 305, 201),
        (400, 604, 300),
        (900, 1004, 500),
    ],
)
def test_epa_so2_rules(so2, so2_24h, expected):
    assert epa_aqi({"so2": so2, "so2_24h": so2_24h}).iaqi == {"so2": expected}


def test_epa_so2_above_304_needs_the_24h_average():
    with pytest.raises(AqiInputError) as err:
        epa_aqi({"so2": 305})
    assert err.value.field == "so2_24h"
    assert epa_aqi({"so2": 305, "so2_24h": 1100}).beyond_index == ["so2"]


def test_calculate_dispatches_by_standard():
    assert calculate({"pm25": "35.9"}, standard=EPA).aqi == 102
    assert calculate({"pm25": "35.9"}, standard=EPA, period=DAY).aqi == 102  # period does not change EPA
    assert calculate({"pm25": 75}, standard=OLD, period=DAY).aqi == 100
    assert calculate({"pm25": 75}, period=DAY, observed_at=date(2026, 3, 1)).aqi == 114


# ---- NowCast ---------------------------------------------------------------------------------------

TRAINING_HOURS = [50, 80, 75, 90, 82, 53, 64, 74, 21, 10, 16, 13]  # oldest → newest


def test_nowcast_worked_example():
    value = nowcast(TRAINING_HOURS, "pm25")  # w* = 0.11 → 0.5; 17.4139… truncated
    assert value == Decimal("17.4") and str(value) == "17.4"
    assert epa_aqi({"pm25": value}).aqi == 66


def test_nowcast_reads_the_newest_hour_last():
    assert nowcast(TRAINING_HOURS[::-1], "pm25") == Decimal("64.2")
    assert nowcast([1000, 1000, *TRAINING_HOURS], "pm25") == Decimal("17.4")  # only the last 12 hours


@pytest.mark.parametrize(
    ("hours", "expected"),
    [
        ([20, None, 10], Decimal("12.0")),  # hour 3 keeps its weight w² across the gap: (10 + 20/4) / 1.25
        ([10] * 12, Decimal("10.0")),  # steady air: w = 1, a plain mean
        ([0] * 12, Decimal("0.0")),  # max 0 would divide by zero
        ([5, 5, None, 5], Decimal("5.0")),  # 2 of the latest 3 suffice
        ([5, 5, None, None], None),
        ([5, None, 5, None], None),
        ([], None),
    ],
)
def test_nowcast_completeness_and_weights(hours, expected):
    assert nowcast(hours, "pm25") == expected


def test_nowcast_pm10_truncates_to_integers_and_o3_is_refused():
    assert nowcast([10, 11, 12], "pm10") == Decimal("11")
    with pytest.raises(ValueError, match="regression"):
        nowcast([0.05, 0.05, 0.05], "o3")
