"""Alert rules: threshold hysteresis without flapping, and the lifecycle's allowed steps."""

import pytest

from services.alerts.hysteresis import Decision, ThresholdRule, decide
from services.alerts.logic import Action, AlertState, LifecycleError, next_state

RULE = ThresholdRule(threshold=101, hysteresis=10, raise_after=2, clear_after=2)


def run(values, rule=RULE):
    """Feed samples one at a time, as the hourly job sees them; return the hours at which it raised or cleared."""
    is_open, events = False, []
    for k in range(1, len(values) + 1):
        decision = decide(rule, values[:k], is_open)
        if decision is Decision.RAISE:
            is_open = True
            events.append((k - 1, "raise"))
        elif decision is Decision.CLEAR:
            is_open = False
            events.append((k - 1, "clear"))
    return events


def test_hovering_around_the_threshold_never_raises():
    assert run([98, 103, 97, 104, 99, 101, 100, 102, 95]) == []


def test_raises_only_after_the_duration():
    assert run([90, 120]) == []
    assert run([90, 120, 125]) == [(2, "raise")]


def test_a_missing_hour_breaks_the_run():
    assert run([120, None, 125]) == []


def test_no_flapping_while_above_threshold_minus_hysteresis():
    # Raised at hour 2; then it dips below 101 but never below 91: the alert stays open.
    assert run([120, 125, 95, 105, 92, 100, 93, 96]) == [(1, "raise")]


def test_clears_only_after_the_clear_duration_below_threshold_minus_hysteresis():
    assert run([120, 125, 85]) == [(1, "raise")]
    assert run([120, 125, 85, 95, 85]) == [(1, "raise")]  # the run of lows restarts after 95
    assert run([120, 125, 85, 80]) == [(1, "raise"), (3, "clear")]
    assert run([120, 125, 91, 80]) == [(1, "raise")]  # 91 is not below 101 - 10


def test_a_rule_needs_sensible_durations():
    with pytest.raises(ValueError):
        ThresholdRule(threshold=100, hysteresis=-1, raise_after=1, clear_after=1)
    with pytest.raises(ValueError):
        ThresholdRule(threshold=100, hysteresis=5, raise_after=0, clear_after=1)


def test_lifecycle_raised_acknowledged_cleared():
    assert next_state(AlertState.RAISED, Action.ACKNOWLEDGED) is AlertState.ACKNOWLEDGED
    assert next_state(AlertState.ACKNOWLEDGED, Action.ASSIGNED) is AlertState.ACKNOWLEDGED
    assert next_state(AlertState.ACKNOWLEDGED, Action.CLEARED) is AlertState.CLEARED
    assert next_state(AlertState.RAISED, Action.CLEARED) is AlertState.CLEARED


@pytest.mark.parametrize(
    ("state", "action"),
    [
        (AlertState.ACKNOWLEDGED, Action.ACKNOWLEDGED),
        (AlertState.CLEARED, Action.ACKNOWLEDGED),
        (AlertState.CLEARED, Action.ASSIGNED),
        (AlertState.CLEARED, Action.CLEARED),
    ],
)
def test_lifecycle_refuses_steps_out_of_order(state, action):
    with pytest.raises(LifecycleError, match=f"is {state}"):
        next_state(state, action)
