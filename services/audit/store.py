"""Write and read the audit log. Callers record inside the transaction of the action they audit."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.accounts.roles import Actor
from services.audit.models import AuditEntry


class AuditAction(StrEnum):
    LOGIN = "login"
    LOGIN_FAILED = "login.failed"
    LOGOUT = "logout"
    USER_CREATE = "user.create"
    APIKEY_CREATE = "apikey.create"
    APIKEY_REVOKE = "apikey.revoke"
    REQUEST_SUBMIT = "request.submit"
    REQUEST_TRANSITION = "request.transition"
    REQUEST_ROUTE = "request.route"
    ALERT_ACKNOWLEDGE = "alert.acknowledged"
    ALERT_ASSIGN = "alert.assigned"
    ALERT_CLEAR = "alert.cleared"
    DEAD_LETTER_REQUEUE = "dead_letter.requeue"
    DEAD_LETTER_DELETE = "dead_letter.delete"
    DEAD_LETTER_PURGE = "dead_letter.purge"
    DEVICE_PROVISION = "device.provision"
    DEVICE_REVOKE = "device.revoke"
    BERTH_CLOSE = "berth.close"
    BERTH_OPEN = "berth.open"


def _client_ip() -> str | None:
    # Looked up, not imported: the worker and the scheduler record audit entries too, and need no Flask.
    flask = sys.modules.get("flask")
    return flask.request.remote_addr if flask and flask.has_request_context() else None


def record(
    session: Session,
    actor: Actor | str,
    action: AuditAction,
    target_type: str | None = None,
    target_id: object = None,
    detail: dict | None = None,
    outcome: str = "ok",
) -> AuditEntry:
    """Add one entry to ``session`` (committed with the action). ``actor`` may be a bare name (a failed login).

    ``detail`` must hold ids, states and counts only — never a resident's name, phone, e-mail or free text.
    """
    name, role = (actor.username, str(actor.role)) if isinstance(actor, Actor) else (actor, "public")
    entry = AuditEntry(
        at=datetime.now(UTC),
        actor=name[:64],
        actor_role=role,
        action=str(action),
        target_type=target_type,
        target_id=None if target_id is None else str(target_id)[:80],
        outcome=outcome,
        source_ip=_client_ip(),
        detail=detail or {},
    )
    session.add(entry)
    return entry


def entries(
    session: Session,
    *,
    actor: str | None = None,
    action: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[AuditEntry], int]:
    """Entries newest first, filtered; with the total count for paging. ``action`` matches a prefix (``alert.``)."""
    where = []
    if actor:
        where.append(AuditEntry.actor == actor)
    if action:
        where.append(AuditEntry.action.startswith(action, autoescape=True))
    if target_type:
        where.append(AuditEntry.target_type == target_type)
    if target_id:
        where.append(AuditEntry.target_id == target_id)
    if since:
        where.append(AuditEntry.at >= since)
    if until:
        where.append(AuditEntry.at < until)
    total = session.scalar(select(func.count()).select_from(AuditEntry).where(*where))
    rows = session.scalars(
        select(AuditEntry)
        .where(*where)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return list(rows), total
