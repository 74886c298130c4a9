"""Dead-letter store: persist, list, inspect, mark re-queued, purge."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from services.db import insert_ignoring_duplicates
from services.pipeline.models import DeadLetter

TOPIC_LIMIT = DeadLetter.__table__.c.topic.type.length


def storable(text: str) -> str:
    """Text PostgreSQL takes: lone surrogates (JSON can carry them, UTF-8 cannot) and NUL as escapes.

    A hostile message must not make its own refusal unstorable: one such row would fail the whole batch.
    """
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def _row(item: dict) -> dict:
    topic, detail = storable(item["topic"]), storable(item["detail"])
    if len(topic) > TOPIC_LIMIT:  # MQTT allows 65,535 bytes; the evidence needs the start
        detail += f" (topic kept: first {TOPIC_LIMIT} of {len(topic)} characters)"
        topic = topic[:TOPIC_LIMIT]
    return {
        "uid": item["uid"],
        "received_at": datetime.fromtimestamp(item["received_at"], UTC),
        "topic": topic,
        "payload": item["payload"],
        "reason": item["reason"],
        "detail": detail,
        "kind": item.get("kind"),
        "device_id": item.get("device_id"),
        "status": "pending",
    }


def record_dead_letters(session: Session, items: list[dict]) -> int:
    """Store refused messages once each (keyed by the bridge's uid); return how many were new."""
    rows = [_row(i) for i in items]
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
