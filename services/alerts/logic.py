"""Alert lifecycle rules (pure): raised → acknowledged → cleared, with assignment on the way."""

from __future__ import annotations

from enum import StrEnum


class AlertState(StrEnum):
    RAISED = "raised"
    ACKNOWLEDGED = "acknowledged"
    CLEARED = "cleared"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class Action(StrEnum):
    """What an AlertChange records (and what the live event says happened)."""

    RAISED = "raised"
    UPDATED = "updated"  # the condition persists with a new severity or title
    ACKNOWLEDGED = "acknowledged"
    ASSIGNED = "assigned"
    CLEARED = "cleared"


class LifecycleError(ValueError):
    """An action the alert's current state does not allow."""


# Which states each person-initiated action may start from, and the state it leads to.
_ALLOWED: dict[Action, tuple[frozenset[AlertState], AlertState | None]] = {
    Action.ACKNOWLEDGED: (frozenset({AlertState.RAISED}), AlertState.ACKNOWLEDGED),
    Action.ASSIGNED: (frozenset({AlertState.RAISED, AlertState.ACKNOWLEDGED}), None),  # state unchanged
    Action.CLEARED: (frozenset({AlertState.RAISED, AlertState.ACKNOWLEDGED}), AlertState.CLEARED),
    Action.UPDATED: (frozenset({AlertState.RAISED, AlertState.ACKNOWLEDGED}), None),
}


def next_state(state: AlertState, action: Action) -> AlertState:
    """Return the state after ``action``; LifecycleError when the current state does not allow it."""
    allowed, target = _ALLOWED[Action(action)]
    if AlertState(state) not in allowed:
        raise LifecycleError(f"an alert that is {state} cannot be {action}")
    return target or AlertState(state)


def open_key(kind: str, source_type: str, source_id: str) -> str:
    """Identity of the one open alert a condition may have: a second raise refreshes it instead."""
    return f"{kind}|{source_type}|{source_id}"
