"""The request lifecycle: statuses, the allowed transitions, and who may make them (pure domain rules).

submitted -> accepted -> assigned -> in_progress -> resolved -> closed
plus rejected, duplicate (linked to its original) and on_hold (SLA clock paused).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from services.accounts.roles import Actor


class Status(StrEnum):
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    ON_HOLD = "on_hold"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"


S = Status
TRANSITIONS: dict[Status, frozenset[Status]] = {
    S.SUBMITTED: frozenset({S.ACCEPTED, S.REJECTED, S.DUPLICATE}),
    S.ACCEPTED: frozenset({S.ASSIGNED, S.IN_PROGRESS, S.ON_HOLD, S.REJECTED, S.DUPLICATE}),
    S.ASSIGNED: frozenset({S.ASSIGNED, S.IN_PROGRESS, S.ON_HOLD, S.DUPLICATE}),  # assigned -> assigned: hand over
    S.IN_PROGRESS: frozenset({S.ASSIGNED, S.ON_HOLD, S.RESOLVED}),
    S.ON_HOLD: frozenset({S.ACCEPTED, S.ASSIGNED, S.IN_PROGRESS}),
    S.RESOLVED: frozenset({S.CLOSED, S.IN_PROGRESS}),  # in_progress again: the resident says it is not fixed
    S.CLOSED: frozenset(),
    S.REJECTED: frozenset(),
    S.DUPLICATE: frozenset(),
}
FINAL = frozenset(s for s, targets in TRANSITIONS.items() if not targets)

# Open311 GeoReport v2 has only open and closed: a request is closed once the work is done or refused.
OPEN311_CLOSED = frozenset({S.RESOLVED, S.CLOSED, S.REJECTED, S.DUPLICATE})

NEEDS_NOTE = frozenset({S.REJECTED, S.ON_HOLD})  # the resident is owed a reason


class LifecycleError(Exception):
    """A change the lifecycle refuses; subclasses say whether it is the role, the state or a missing detail."""


class NotPermitted(LifecycleError):
    """This actor may not change this request."""


class InvalidTransition(LifecycleError):
    """The request's current status does not allow this change."""


class MissingDetail(LifecycleError):
    """The change needs something that was not given (``field`` names it)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Change:
    """What an actor asks for: the new status and what goes with it."""

    target: Status
    note: str = ""
    assignee: str | None = None
    duplicate_of: str | None = None


def open311_status(status: Status) -> str:
    """``open`` or ``closed``: the only two statuses GeoReport v2 knows."""
    return "closed" if status in OPEN311_CLOSED else "open"


def allowed_targets(status: Status) -> frozenset[Status]:
    return TRANSITIONS[status]


def check_transition(current: Status, change: Change, actor: Actor, request_community: str | None) -> None:
    """Raise a LifecycleError unless ``actor`` may move a request of ``request_community`` as ``change`` asks."""
    if not actor.is_staff_member or not actor.may_see_community(request_community):
        raise NotPermitted("only staff of the request's community, or city operators, may change it")
    if change.target not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none: it is final"
        raise InvalidTransition(f"a {current} request cannot become {change.target} (allowed: {allowed})")
    if change.target in NEEDS_NOTE and not change.note.strip():
        raise MissingDetail("note", f"say why the request is {change.target} (note)")
    if current is S.RESOLVED and change.target is S.IN_PROGRESS and not change.note.strip():
        raise MissingDetail("note", "say why the request is reopened (note)")
    if change.target is S.ASSIGNED and not (change.assignee or "").strip():
        raise MissingDetail("assignee", "name who the request is assigned to (assignee)")
    if change.target is S.DUPLICATE and not change.duplicate_of:
        raise MissingDetail("duplicate_of", "give the id of the original request (duplicate_of)")
