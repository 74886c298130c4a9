"""Pipeline alert rules, applied to each health sample: a queue's backlog and its failed jobs.

One alert per queue and rule (source: the RQ queue); the open alert and the previous sample's failed-job
counts are the only state between samples.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.orm import Session

from config.settings import Settings
from services.alerts import store as alerts
from services.alerts.hysteresis import Decision
from services.alerts.logic import Action, Severity

SOURCE = "rq_queue"
BACKLOG, FAILED = "queue_backlog", "jobs_failed"


def backlog_severity(waiting: int, is_open: bool, threshold: int, critical_at: int) -> Severity | None:
    """The backlog alert's severity now, or None when no backlog alert should be open.

    Raised at ``threshold`` waiting jobs (QUEUE_BACKLOG_ALERT; 0 turns the rule off), critical at
    ``critical_at`` (BRIDGE_MAX_BACKLOG, when above 0). Once open it stays open until the queue is below
    half the level that raises it, so a queue hovering around the threshold does not flap.
    """
    if threshold <= 0:
        return None
    raise_at = min(threshold, critical_at) if critical_at > 0 else threshold
    if critical_at > 0 and waiting >= critical_at:
        return Severity.CRITICAL
    if waiting >= raise_at or (is_open and waiting * 2 >= raise_at):
        return Severity.WARNING
    return None


def failed_decision(failed: int, previous: int | None) -> Decision:
    """Raise when the failed-job registry grew since the previous sample; clear once it is empty."""
    if failed == 0:
        return Decision.CLEAR
    if previous is not None and failed > previous:
        return Decision.RAISE
    return Decision.HOLD


def evaluate(
    session: Session, settings: Settings, snapshot: dict, previous_failed: Mapping[str, int] | None, now: datetime
) -> list[dict]:
    """Apply both rules to every queue of the snapshot; return the alert events of what changed."""
    changes = []
    for queue in snapshot["queues"]:
        outcomes = (_backlog(session, settings, queue, now), _failed(session, queue, previous_failed, now))
        changes += [c for c in outcomes if c]
    return [alerts.event(alert, action) for alert, action in changes]


def _backlog(session: Session, settings: Settings, queue: dict, now: datetime):
    name = queue["name"]
    is_open = alerts.find_open(session, BACKLOG, SOURCE, name) is not None
    severity = backlog_severity(queue["waiting"], is_open, settings.queue_backlog_alert, settings.bridge_max_backlog)
    if severity is None:
        return _cleared(session, BACKLOG, name, now) if is_open else None
    critical = severity is Severity.CRITICAL
    detail = {
        "waiting": queue["waiting"],
        "started": queue["started"],
        "scheduled": queue["scheduled"],
        "threshold": settings.queue_backlog_alert,
        "critical_at": settings.bridge_max_backlog or None,
    }
    return _raised(
        session,
        BACKLOG,
        name,
        now,
        severity,
        f"队列 {name} 任务{'严重' if critical else ''}积压",
        f"Queue {name}: {'severe ' if critical else ''}job backlog",
        detail,
    )


def _failed(session: Session, queue: dict, previous_failed: Mapping[str, int] | None, now: datetime):
    name = queue["name"]
    previous = previous_failed.get(name) if previous_failed is not None else None
    decision = failed_decision(queue["failed"], previous)
    if decision is Decision.CLEAR:
        return _cleared(session, FAILED, name, now)
    if decision is Decision.HOLD:
        return None
    detail = {"failed": queue["failed"], "new": queue["failed"] - (previous or 0)}
    return _raised(
        session, FAILED, name, now, Severity.WARNING, f"队列 {name} 有失败的任务", f"Queue {name}: jobs failed", detail
    )


def _raised(session, kind, name, now, severity, title_zh, title_en, detail):
    alert, action = alerts.raise_or_refresh(
        session,
        kind=kind,
        source_type=SOURCE,
        source_id=name,
        severity=severity,
        title_zh=title_zh,
        title_en=title_en,
        detail=detail,
        at=now,
    )
    return (alert, action) if action else None


def _cleared(session, kind, name, now):
    alert = alerts.clear_condition(session, kind, SOURCE, name, now)
    return (alert, Action.CLEARED) if alert else None
