"""Queries and changes of service requests. Rules come from lifecycle.py and sla.py; this module applies them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.orm import Session

from services.accounts.roles import Actor
from services.audit.store import AuditAction, record
from services.district.models import Community
from services.service_requests.catalogue import Catalogue, Service
from services.service_requests.ids import normalise, public_id
from services.service_requests.lifecycle import (
    FINAL,
    Change,
    InvalidTransition,
    MissingDetail,
    NotPermitted,
    Status,
    check_transition,
)
from services.service_requests.models import RequestHistory, ServiceRequest
from services.service_requests.sla import sla_state


@dataclass(frozen=True)
class Submission:
    """A validated new request (attributes already checked against the service)."""

    service: Service
    resident_name: str
    resident_phone: str
    description: str = ""
    community_id: str | None = None
    address: str | None = None
    lat: float | None = None
    lon: float | None = None
    attributes: dict | None = None
    resident_email: str | None = None
    channel: str = "desk"
    api_key_id: int | None = None  # Open311 submissions: the application that sent it, and what it sent
    client_account_id: str | None = None
    client_device_id: str | None = None
    media: list[str] | None = None
    token: str | None = None


def _record(session: Session, request: ServiceRequest, actor: Actor, at: datetime, action: str, **fields) -> None:
    session.add(
        RequestHistory(
            request_id=request.id,
            at=at,
            action=action,
            actor_id=actor.user_id,
            actor_name=actor.username,
            actor_role=str(actor.role),
            to_status=request.status,
            **fields,
        )
    )


def history(session: Session, request: ServiceRequest) -> list[RequestHistory]:
    return list(
        session.scalars(
            select(RequestHistory).where(RequestHistory.request_id == request.id).order_by(RequestHistory.id)
        )
    )


def timeline(entries: list[RequestHistory]) -> list[tuple[datetime, Status]]:
    """The (when, status) steps the SLA clocks run over."""
    return [(e.at, Status(e.to_status)) for e in entries if e.action in ("submitted", "transition")]


def _update_clocks(session: Session, request: ServiceRequest, service: Service, now: datetime) -> None:
    session.flush()
    state = sla_state(timeline(history(session, request)), service.sla, now)
    request.response_due_at = state.response.due_at
    request.resolution_due_at = state.resolution.due_at


def submit(session: Session, catalogue: Catalogue, actor: Actor, sub: Submission, now: datetime) -> ServiceRequest:
    """Store a new request, its first history entry and its SLA due times."""
    request = ServiceRequest(
        service_code=sub.service.code,
        category=sub.service.category,
        private=sub.service.private,
        community_id=sub.community_id,
        status=str(Status.SUBMITTED),
        description=sub.description,
        address=sub.address,
        lat=sub.lat,
        lon=sub.lon,
        attributes=sub.attributes or {},
        resident_name=sub.resident_name,
        resident_phone=sub.resident_phone,
        resident_email=sub.resident_email,
        agency_responsible=sub.service.agency_zh,
        channel=sub.channel,
        api_key_id=sub.api_key_id,
        client_account_id=sub.client_account_id,
        client_device_id=sub.client_device_id,
        media=sub.media or [],
        token=sub.token,
        created_by=actor.user_id,
        requested_at=now,
        updated_at=now,
    )
    session.add(request)
    session.flush()  # the running number is the row id
    request.public_id = public_id(catalogue.id_prefix, now, request.id)
    _record(session, request, actor, now, "submitted", note="")
    _update_clocks(session, request, sub.service, now)
    detail = {"service_code": request.service_code, "community_id": request.community_id}
    record(session, actor, AuditAction.REQUEST_SUBMIT, "service_request", request.public_id, detail)
    return request


def visible_to(actor: Actor) -> Select:
    """Requests the actor may see: everything for operators and admins, their community for staff."""
    query = select(ServiceRequest)
    if actor.city_wide:
        return query
    if actor.community_id is None:
        return query.where(False)
    return query.where(ServiceRequest.community_id == actor.community_id)


def find(session: Session, actor: Actor, request_id: str) -> ServiceRequest | None:
    """The request with this public id, if the actor may see it (None either way, so nothing leaks)."""
    wanted = normalise(request_id)
    if wanted is None:
        return None
    return session.scalar(visible_to(actor).where(ServiceRequest.public_id == wanted))


def find_public(session: Session, request_id: str) -> ServiceRequest | None:
    wanted = normalise(request_id)
    return session.scalar(select(ServiceRequest).where(ServiceRequest.public_id == wanted)) if wanted else None


def _overdue(now: datetime):
    return or_(ServiceRequest.response_due_at < now, ServiceRequest.resolution_due_at < now)


def queue(
    session: Session,
    actor: Actor,
    now: datetime,
    statuses: list[str] | None = None,
    service_code: str | None = None,
    category: str | None = None,
    community_id: str | None = None,
    overdue: bool | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[ServiceRequest], int]:
    """The actor's queue: overdue first, then by resolution due time, oldest first; with the total count."""
    query = visible_to(actor)
    if statuses:
        query = query.where(ServiceRequest.status.in_(statuses))
    else:  # the working queue: everything not yet final
        query = query.where(ServiceRequest.status.not_in([str(s) for s in FINAL]))
    for column, value in (
        (ServiceRequest.service_code, service_code),
        (ServiceRequest.category, category),
        (ServiceRequest.community_id, community_id),
    ):
        if value:
            query = query.where(column == value)
    if overdue is not None:
        query = query.where(_overdue(now) if overdue else ~_overdue(now))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    ordered = query.order_by(
        case((_overdue(now), 0), else_=1),
        ServiceRequest.resolution_due_at.is_(None),
        ServiceRequest.resolution_due_at,
        ServiceRequest.requested_at,
        ServiceRequest.id,
    )
    return list(session.scalars(ordered.limit(limit).offset(offset))), total


def change_status(
    session: Session, catalogue: Catalogue, actor: Actor, request: ServiceRequest, change: Change, now: datetime
) -> None:
    """Apply one lifecycle change (checked by the domain rules), record it, and move the SLA clocks."""
    check_transition(Status(request.status), change, actor, request.community_id)
    if change.target is Status.DUPLICATE:
        original = find(session, actor, change.duplicate_of)
        if original is None:
            raise MissingDetail("duplicate_of", f"no request {change.duplicate_of} that you may see")
        if original.id == request.id or original.status == Status.DUPLICATE:
            raise MissingDetail("duplicate_of", "the original must be another request that is not a duplicate itself")
        request.duplicate_of_id = original.id
    if change.target is Status.ASSIGNED:
        request.assignee = change.assignee.strip()
    previous = request.status
    request.status = str(change.target)
    request.updated_at = now
    _record(session, request, actor, now, "transition", from_status=previous, note=change.note.strip())
    _update_clocks(session, request, catalogue.service(request.service_code), now)
    audited = {"from": previous, "to": request.status}  # the note is free text and may name the resident: not here
    record(session, actor, AuditAction.REQUEST_TRANSITION, "service_request", request.public_id, audited)


def route(session: Session, actor: Actor, request: ServiceRequest, community_id: str, note: str, now: datetime) -> None:
    """Send a request to a community centre (operators: Open311 apps file requests without one, or the wrong one)."""
    if not actor.city_wide:
        raise NotPermitted("only city operators route requests between communities")
    if request.status in FINAL:
        raise InvalidTransition(f"a {request.status} request is final; it is not routed any more")
    if session.get(Community, community_id) is None:
        raise MissingDetail("community_id", f"no community {community_id!r}")
    previous = request.community_id
    request.community_id = community_id
    request.updated_at = now
    routed = f"{previous or '-'} → {community_id}" + (f": {note.strip()}" if note.strip() else "")
    _record(session, request, actor, now, "routed", from_status=request.status, note=routed)
    record(session, actor, AuditAction.REQUEST_ROUTE, "service_request", request.public_id,
           {"from": previous, "to": community_id})  # fmt: skip


def sweep_overdue(session: Session, actor: Actor, now: datetime) -> list[tuple[ServiceRequest, str]]:
    """Mark clocks that ran out since the last sweep; return (request, "response" | "resolution") per breach."""
    breaches = []
    clocks = (
        ("response", ServiceRequest.response_due_at, ServiceRequest.response_breached_at),
        ("resolution", ServiceRequest.resolution_due_at, ServiceRequest.resolution_breached_at),
    )
    for name, due, breached in clocks:
        for request in session.scalars(select(ServiceRequest).where(due < now, breached.is_(None))):
            setattr(request, f"{name}_breached_at", now)
            _record(session, request, actor, now, "sla_breach", from_status=request.status, note=f"{name} overdue")
            breaches.append((request, name))
    return breaches


def histories(session: Session, requests: list[ServiceRequest]) -> dict[int, list[RequestHistory]]:
    """Every listed request's history in one query: request id -> its entries, oldest first."""
    found: dict[int, list[RequestHistory]] = {r.id: [] for r in requests}
    if found:
        query = select(RequestHistory).where(RequestHistory.request_id.in_(found)).order_by(RequestHistory.id)
        for entry in session.scalars(query):
            found[entry.request_id].append(entry)
    return found


def original_public_ids(session: Session, requests: list[ServiceRequest]) -> dict[int, str]:
    """Public id of each listed duplicate's original, in one query: original's id -> public id."""
    ids = {r.duplicate_of_id for r in requests if r.duplicate_of_id is not None}
    if not ids:
        return {}
    query = select(ServiceRequest.id, ServiceRequest.public_id).where(ServiceRequest.id.in_(ids))
    return dict(session.execute(query).all())


def original_public_id(session: Session, request: ServiceRequest) -> str | None:
    if request.duplicate_of_id is None:
        return None
    return session.scalar(select(ServiceRequest.public_id).where(ServiceRequest.id == request.duplicate_of_id))
