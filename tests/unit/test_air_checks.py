"""Plausibility checks: negatives, values beyond ambient air, spikes, a stuck sensor and PM2.5 above PM10 are
flagged; normal air is not."""

from datetime import UTC, datetime, timedelta

from services.air_quality.checks import Sample, check

T0 = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


def history(values, measure="pm25", every=timedelta(minutes=5), end=T0):
    """Samples of one measure ending just before ``end``, oldest first."""
    n = len(values)
    return [Sample(end - (n - k) * every, {measure: v}) for k, v in enumerate(values)]


def test_normal_variation_is_not_flagged():
    assert check(Sample(T0, {"pm25": 48.0, "pm10": 80.0}), history([40.0, 45.0, 42.0, 50.0])) == {}


def test_a_spike_is_flagged_against_the_recent_median():
    assert check(Sample(T0, {"pm25": 400.0}), history([40.0, 45.0, 42.0, 44.0])) == {"pm25": "spike"}
    # Downwards too: a sudden near-zero in heavy smog.
    assert check(Sample(T0, {"pm25": 20.0}), history([300.0, 310.0, 305.0])) == {"pm25": "spike"}


def test_a_big_relative_change_at_low_levels_is_not_a_spike():
    # Tripled but only +20 µg/m³: below the absolute step, real air does this.
    assert check(Sample(T0, {"pm25": 30.0}), history([10.0, 9.0, 11.0])) == {}


def test_a_persisting_new_level_is_accepted_once_it_is_the_median():
    samples = history([40.0, 41.0, 400.0, 410.0, 405.0])
    assert check(Sample(T0, {"pm25": 402.0}), samples) == {}


def test_no_spike_verdict_without_enough_recent_context():
    assert check(Sample(T0, {"pm25": 400.0}), history([40.0, 42.0])) == {}
    old = history([40.0, 42.0, 41.0], end=T0 - timedelta(minutes=40))
    assert check(Sample(T0, {"pm25": 400.0}), old) == {}


def test_a_stuck_sensor_is_flagged_after_the_minimum_run_and_span():
    assert check(Sample(T0, {"o3": 57.0}), history([57.0] * 9, "o3")) == {"o3": "stuck"}  # 45 min, 10 readings


def test_a_short_run_of_equal_values_is_not_stuck():
    assert check(Sample(T0, {"o3": 57.0}), history([57.0] * 4, "o3")) == {}  # 5 readings, 20 min
    fast = history([57.0] * 20, "o3", every=timedelta(seconds=10))  # 21 readings but only 200 s
    assert check(Sample(T0, {"o3": 57.0}), fast) == {}
    broken = history([57.0] * 4 + [58.0] + [57.0] * 4, "o3")  # the run restarts after a change
    assert check(Sample(T0, {"o3": 57.0}), broken) == {}


def test_pm25_above_pm10_flags_both():
    assert check(Sample(T0, {"pm25": 90.0, "pm10": 60.0}), []) == {"pm25": "inconsistent", "pm10": "inconsistent"}
    assert check(Sample(T0, {"pm25": 65.0, "pm10": 60.0}), []) == {}  # within the tolerance


def test_each_measure_is_judged_on_its_own():
    samples = [Sample(s.observed_at, {"pm25": s.values["pm25"], "no2": 30.0}) for s in history([40.0, 41.0, 42.0])]
    assert check(Sample(T0, {"pm25": 41.0, "no2": 400.0}), samples) == {"no2": "spike"}


def test_weather_spikes_use_the_absolute_step_only():
    assert check(Sample(T0, {"temperature": 25.0}), history([10.0, 10.2, 10.1], "temperature")) == {
        "temperature": "spike"
    }
    assert check(Sample(T0, {"temperature": 14.0}), history([10.0, 10.2, 10.1], "temperature")) == {}


def test_a_small_negative_is_flagged_not_refused():
    # Zero drift: the analyser reports -3 µg/m³. Kept (the bridge accepts it) and flagged.
    assert check(Sample(T0, {"pm25": -3.0, "pm10": 20.0}), []) == {"pm25": "negative"}


def test_temperature_below_zero_is_weather_not_a_fault():
    assert check(Sample(T0, {"temperature": -12.0}), []) == {}


def test_a_value_beyond_ambient_air_is_flagged_implausible():
    assert check(Sample(T0, {"pm25": 1500.0, "co": 80.0}), []) == {"pm25": "implausible", "co": "implausible"}


def test_intake_accepts_a_drift_negative_and_refuses_an_impossible_one():
    from services.air_quality.schemas import AirReadingMessage

    envelope = {"boot": 1, "seq": 1, "ts": "2026-11-26T03:00:00Z"}
    assert AirReadingMessage().load(envelope | {"pm25": -3})["pm25"] == -3
    assert AirReadingMessage().validate(envelope | {"pm25": -500})
