"""Dead-letter store: persist, list, inspect, mark re-queued, purge."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from services.db import insert_ignoring_duplicates
from services.pipeline.models import DeadLetter


def record_dead_letters(session: Session, items: list[dict]) -> int:
    """Store refused messages once each (keyed by the bridge's uid); return how many were new."""
    rows = [
        {
            "uid": i["uid"],
            "received_at": datetime.fromtimestamp(i["received_at"], UTC),
            "topic": i["topic"],
            "payload": i["payload"],
            "reason": i["reason"],
            "detail": i["detail"],
            "kind": i.get("kind"),
            "device_id": i.get("device_id"),
            "status": "pending",
        }
        for i in items
    ]
    return len(insert_ignoring_duplicates(session, DeadLetter, rows, ["uid"], returning=(DeadLetter.id,)))


def list_dead_letters(
    session: Session, reason: str | None = None, status: str | None = None, limit: int = 100, offset: int = 0
) -> tuple[list[DeadLetter], int]:
    query = select(DeadLetter)
    if reason:
        query = query.where(DeadLetter.reason == reason)
    if status:
        query = query.where(DeadLetter.status == status)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    items = session.scalars(query.order_by(DeadLetter.id.desc()).limit(limit).offset(offset))
    return list(items), total


def counts_by_reason(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(DeadLetter.reason, func.count()).where(DeadLetter.status == "pending").group_by(DeadLetter.reason)
    )
    return {reason: count for reason, count in rows}


def mark_requeued(session: Session, letter: DeadLetter) -> None:
    letter.status = "requeued"
    letter.requeued_at = datetime.now(UTC)


def purge(session: Session, reason: str | None = None, status: str | None = None) -> int:
    stmt = delete(DeadLetter)
    if reason:
        stmt = stmt.where(DeadLetter.reason == reason)
    if status:
        stmt = stmt.where(DeadLetter.status == status)
    return session.execute(stmt).rowcount
