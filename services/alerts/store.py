"""Alert queries and the lifecycle write path; every change is appended to the alert's history.

Each write returns the live event to publish after the commit (``events.publish``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.alerts.logic import Action, AlertState, next_state, open_key
from services.alerts.models import Alert, AlertChange
from services.types import is_big_id

SYSTEM = "system"  # the actor of changes the evaluators make


class AlertNotFound(LookupError):
    pass


def find_open(session: Session, kind: str, source_type: str, source_id: str) -> Alert | None:
    return session.scalar(select(Alert).where(Alert.open_key == open_key(kind, source_type, source_id)))


def raise_or_refresh(
    session: Session,
    *,
    kind: str,
    source_type: str,
    source_id: str,
    severity: str,
    title_zh: str,
    title_en: str,
    detail: dict,
    at: datetime,
    subdistrict_id: str | None = None,
) -> tuple[Alert, Action | None]:
    """Raise the condition's alert, or refresh its open one (a new severity or title is an update).

    Returns the alert and the action taken (None: the open alert already said all this).
    """
    alert = find_open(session, kind, source_type, source_id)
    if alert is None:
        alert = Alert(
            kind=kind,
            source_type=source_type,
            source_id=source_id,
            severity=str(severity),
            subdistrict_id=subdistrict_id,
            title_zh=title_zh,
            title_en=title_en,
            detail=detail,
            state=AlertState.RAISED,
            open_key=open_key(kind, source_type, source_id),
            raised_at=at,
            updated_at=at,
        )
        session.add(alert)
        session.flush()  # the id, for the history row
        _record(session, alert, Action.RAISED, SYSTEM, at, detail)
        return alert, Action.RAISED
    changed = (alert.severity, alert.title_zh, alert.title_en) != (str(severity), title_zh, title_en)
    alert.detail = detail
    if not changed:
        return alert, None
    alert.severity, alert.title_zh, alert.title_en, alert.updated_at = str(severity), title_zh, title_en, at
    _record(session, alert, Action.UPDATED, SYSTEM, at, {"severity": str(severity)} | detail)
    return alert, Action.UPDATED


def acknowledge(session: Session, alert_id: int, actor: str, at: datetime, note: str = "") -> Alert:
    alert = _get_for_update(session, alert_id)
    alert.state = next_state(AlertState(alert.state), Action.ACKNOWLEDGED)
    alert.acknowledged_at, alert.acknowledged_by, alert.updated_at = at, actor, at
    _record(session, alert, Action.ACKNOWLEDGED, actor, at, {"note": note} if note else {})
    return alert


def assign(session: Session, alert_id: int, assignee: str, actor: str, at: datetime, note: str = "") -> Alert:
    alert = _get_for_update(session, alert_id)
    alert.state = next_state(AlertState(alert.state), Action.ASSIGNED)
    alert.assigned_to, alert.updated_at = assignee, at
    _record(session, alert, Action.ASSIGNED, actor, at, {"assignee": assignee} | ({"note": note} if note else {}))
    return alert


def clear(session: Session, alert_id: int, actor: str, at: datetime, note: str = "") -> Alert:
    alert = _get_for_update(session, alert_id)
    alert.state = next_state(AlertState(alert.state), Action.CLEARED)
    alert.cleared_at, alert.cleared_by, alert.updated_at, alert.open_key = at, actor, at, None
    _record(session, alert, Action.CLEARED, actor, at, {"note": note} if note else {})
    return alert


def clear_condition(session: Session, kind: str, source_type: str, source_id: str, at: datetime) -> Alert | None:
    """Clear the condition's open alert, if any, as the system (the condition has ended)."""
    alert = find_open(session, kind, source_type, source_id)
    return clear(session, alert.id, SYSTEM, at) if alert else None


def get_alert(session: Session, alert_id: int) -> tuple[Alert, list[AlertChange]]:
    alert = session.get(Alert, alert_id) if is_big_id(alert_id) else None
    if alert is None:
        raise AlertNotFound(alert_id)
    changes = session.scalars(
        select(AlertChange).where(AlertChange.alert_id == alert_id).order_by(AlertChange.id)
    ).all()
    return alert, list(changes)


def list_alerts(session: Session, filters: dict, offset: int, limit: int) -> tuple[list[Alert], int]:
    """Alerts matching ``filters`` (state, kind, severity, source_type, source_id, subdistrict_id,
    open), newest first, and how many match in all."""
    query = select(Alert)
    for name in ("state", "kind", "severity", "source_type", "source_id", "subdistrict_id"):
        if filters.get(name):
            query = query.where(getattr(Alert, name) == str(filters[name]))
    if filters.get("open") is not None:
        query = query.where(Alert.open_key.is_not(None) if filters["open"] else Alert.open_key.is_(None))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    page = session.scalars(query.order_by(Alert.raised_at.desc(), Alert.id.desc()).offset(offset).limit(limit))
    return list(page), total


def open_alerts(session: Session, kind: str | None = None) -> list[Alert]:
    query = select(Alert).where(Alert.open_key.is_not(None))
    if kind:
        query = query.where(Alert.kind == kind)
    return list(session.scalars(query))


def event(alert: Alert, action: Action) -> dict:
    """The live event for one change (EventKind.ALERT)."""
    return {
        "id": alert.id,
        "action": str(action),
        "alert_kind": alert.kind,
        "source_type": alert.source_type,
        "source_id": alert.source_id,
        "severity": alert.severity,
        "state": alert.state,
        "subdistrict_id": alert.subdistrict_id,
        "title_zh": alert.title_zh,
        "title_en": alert.title_en,
        "at": alert.updated_at.isoformat(),
    }


def _get_for_update(session: Session, alert_id: int) -> Alert:
    # FOR UPDATE on PostgreSQL: two people acting at once are serialised; SQLite locks the file anyway.
    alert = session.scalar(select(Alert).where(Alert.id == alert_id).with_for_update()) if is_big_id(alert_id) else None
    if alert is None:
        raise AlertNotFound(alert_id)
    return alert


def _record(session: Session, alert: Alert, action: Action, actor: str, at: datetime, detail: dict) -> None:
    session.add(
        AlertChange(alert_id=alert.id, at=at, action=str(action), actor=actor, state=alert.state, detail=detail)
    )
