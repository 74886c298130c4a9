"""Words the desk and the resident page show for the request lifecycle, in the page's language."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l

from services.accounts.roles import Role
from services.service_requests.lifecycle import Status
from web.i18n import current_lang

S = Status
STATUS_LABELS = {
    S.SUBMITTED: _l("Submitted"),
    S.ACCEPTED: _l("Accepted"),
    S.ASSIGNED: _l("Assigned"),
    S.IN_PROGRESS: _l("In progress"),
    S.ON_HOLD: _l("On hold"),
    S.RESOLVED: _l("Resolved"),
    S.CLOSED: _l("Closed"),
    S.REJECTED: _l("Rejected"),
    S.DUPLICATE: _l("Duplicate"),
}

# What a resident is told a status means (the public page).
STATUS_HINTS = {
    S.SUBMITTED: _l("Received at the community centre; waiting to be accepted."),
    S.ACCEPTED: _l("Accepted; it will be handed to the people who do the work."),
    S.ASSIGNED: _l("Handed to the people who do the work."),
    S.IN_PROGRESS: _l("Being worked on."),
    S.ON_HOLD: _l("Paused: waiting for you or for another office. The time limit is paused too."),
    S.RESOLVED: _l("Done. If it is not, tell the community centre within a few days."),
    S.CLOSED: _l("Finished and closed."),
    S.REJECTED: _l("Not accepted. Ask the community centre for the reason."),
    S.DUPLICATE: _l("Already reported: it is handled with an earlier request."),
}

# The button that moves a request to each status.
ACTION_LABELS = {
    S.ACCEPTED: _l("Accept"),
    S.ASSIGNED: _l("Assign"),
    S.IN_PROGRESS: _l("Start work"),
    S.ON_HOLD: _l("Put on hold"),
    S.RESOLVED: _l("Mark resolved"),
    S.CLOSED: _l("Close"),
    S.REJECTED: _l("Reject"),
    S.DUPLICATE: _l("Mark as duplicate"),
}
REOPEN_LABEL = _l("Reopen")  # resolved -> in progress: the resident says it is not fixed

ROLE_LABELS = {
    Role.STAFF: _l("community staff"),
    Role.OPERATOR: _l("city operator"),
    Role.ADMIN: _l("administrator"),
    Role.PUBLIC: _l("resident"),
}

CHANNEL_LABELS = {"desk": _l("at the desk"), "open311": _l("online (Open311)")}

DATATYPE_HINTS = {
    "number": _l("a number"),
    "datetime": _l("Beijing time"),
    "multivaluelist": _l("choose one or more"),
}

# Statuses whose buttons act at once and need care (shown apart, in a quieter style).
CLOSING_TARGETS = (S.REJECTED, S.DUPLICATE, S.ON_HOLD)


def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(Status(status), status))


def action_label(current: str, target: Status) -> str:
    if Status(current) is S.RESOLVED and target is S.IN_PROGRESS:
        return str(REOPEN_LABEL)
    return str(ACTION_LABELS[target])


def channel_label(channel: str) -> str:
    return str(CHANNEL_LABELS.get(channel, channel))


def role_label(role: str) -> str:
    try:
        return str(ROLE_LABELS[Role(role)])
    except ValueError:
        return role


def local(thing, field: str) -> str:
    """``thing.<field>_zh`` or ``_en`` for the page's language (Chinese when the English is missing)."""
    zh = getattr(thing, f"{field}_zh", "")
    return (getattr(thing, f"{field}_en", "") or zh) if current_lang() == "en" else zh


def overdue(due_times: tuple[datetime | None, ...], now: datetime) -> bool:
    return any(d is not None and d < now for d in due_times)


def hours(value: float) -> str:
    """8.0 -> "8", 1.5 -> "1.5" (SLA budgets are whole hours mostly)."""
    return f"{value:g}"
