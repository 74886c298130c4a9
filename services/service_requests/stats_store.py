"""Queries behind the request statistics and the CSV export: five queries whatever the number of requests.

1. the requests submitted in the window (in the actor's scope), 2. their status history, 3. the first
resolution time of every request in scope that was first resolved in the window, 4. the requests still
waiting now (any age), 5. the communities' names (categories' come from the catalogue).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from services.accounts.roles import Actor
from services.district.models import Community
from services.service_requests.catalogue import Catalogue
from services.service_requests.lifecycle import Status
from services.service_requests.models import RequestHistory, ServiceRequest
from services.service_requests.stats import (
    BACKLOG_STATUSES,
    DONE,
    REFUSED,
    RequestFacts,
    RequestStats,
    Step,
    summarise,
)
from services.service_requests.stats_range import Window
from services.service_requests.store import visible_to

R, H = ServiceRequest, RequestHistory
STATUS_CHANGES = ("submitted", "transition")  # sla_breach entries change no status


def scoped(actor: Actor, community_id: str | None = None) -> Select:
    """The actor's requests (staff: their community), narrowed to one community if asked."""
    query = visible_to(actor)
    return query.where(R.community_id == community_id) if community_id else query


def load_facts(session: Session, actor: Actor, span: Window, community_id: str | None = None) -> list[RequestFacts]:
    """The requests submitted in the window with their status history, oldest first (two queries)."""
    in_window = scoped(actor, community_id).where(R.requested_at >= span.start, R.requested_at < span.end)
    columns = (R.id, R.public_id, R.service_code, R.category, R.community_id, R.status, R.requested_at,
               R.updated_at, R.response_due_at, R.resolution_due_at)  # fmt: skip
    rows = session.execute(in_window.with_only_columns(*columns).order_by(R.requested_at, R.id)).all()
    steps = defaultdict(list)
    history = (
        select(H.request_id, H.at, H.from_status, H.to_status)
        .where(H.request_id.in_(in_window.with_only_columns(R.id)), H.action.in_(STATUS_CHANGES))
        .order_by(H.request_id, H.id)
    )
    for entry in session.execute(history):
        from_status = Status(entry.from_status) if entry.from_status else None
        steps[entry.request_id].append(Step(entry.at, from_status, Status(entry.to_status)))
    return [
        RequestFacts(
            public_id=row.public_id,
            service_code=row.service_code,
            category=row.category,
            community_id=row.community_id,
            status=Status(row.status),
            requested_at=row.requested_at,
            updated_at=row.updated_at,
            response_due_at=row.response_due_at,
            resolution_due_at=row.resolution_due_at,
            steps=tuple(steps[row.id]),
        )
        for row in rows
    ]


def first_resolutions(session: Session, actor: Actor, span: Window, community_id: str | None = None) -> list[datetime]:
    """When each request in scope was first resolved, for those first resolved in the window (any submission day).

    A request resolved and later reopened still counts on the day it was resolved; one that was then marked
    a duplicate does not (refused requests are left out of every resolution figure).
    """
    first = func.min(H.at)
    candidates = scoped(actor, community_id).where(R.status.not_in([str(s) for s in REFUSED]))
    query = (
        select(first)
        .where(H.request_id.in_(candidates.with_only_columns(R.id)), H.to_status.in_([str(s) for s in DONE]))
        .group_by(H.request_id)
        .having(first >= span.start, first < span.end)
    )
    return list(session.scalars(query))


def waiting(session: Session, actor: Actor, community_id: str | None = None) -> list[tuple[str, datetime]]:
    """(public id, requested at) of every request in scope still waiting now, whenever it came in."""
    query = scoped(actor, community_id).where(R.status.in_([str(s) for s in BACKLOG_STATUSES]))
    return [tuple(row) for row in session.execute(query.with_only_columns(R.public_id, R.requested_at))]


def community_names(session: Session) -> dict[str, tuple[str, str]]:
    return {c.id: (c.name_zh, c.name_en) for c in session.scalars(select(Community))}


def request_stats(
    session: Session, catalogue: Catalogue, actor: Actor, span: Window, now: datetime, community_id: str | None = None
) -> RequestStats:
    """Every figure of the statistics page and API for this actor, window and (optional) community."""
    names = {
        "category": {c.code: (c.name_zh, c.name_en) for c in catalogue.categories},
        "community": community_names(session),
    }
    return summarise(
        load_facts(session, actor, span, community_id),
        first_resolutions(session, actor, span, community_id),
        waiting(session, actor, community_id),
        {code: service.sla for code, service in catalogue.services.items()},
        names,
        span,
        now,
        community_id,
    )
