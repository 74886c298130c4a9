"""GET Service Requests and servicerequestupdates: the spec's filters and defaults, as SQL.

``service_request_id`` overrides every other filter. Without dates the window is the most recent 90
days and a range may not span more than 90 days; at most 1,000 requests come back (the spec's
default), in pages (``page``/``page_size``, the most common extension). ``updated_after`` and
``updated_before`` (v2.1 draft) filter on the last change and, given alone, lift the 90-day default
on ``requested_datetime`` so that a client can sync changes to older requests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, select
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from services.open311.dates import parse
from services.open311.errors import bad_request, not_found
from services.service_requests.catalogue import Catalogue
from services.service_requests.ids import normalise
from services.service_requests.lifecycle import OPEN311_CLOSED, Status
from services.service_requests.models import RequestHistory, ServiceRequest

MAX_SPAN = timedelta(days=90)
PAGE_SIZE_MAX = 1000
CLOSED = [str(s) for s in OPEN311_CLOSED]
OPEN = [str(s) for s in Status if s not in OPEN311_CLOSED]


@dataclass(frozen=True)
class Page:
    number: int
    size: int


def _value(args: MultiDict, name: str) -> str | None:
    return (args.get(name) or "").strip() or None  # the spec: empty means not given


def _listed(args: MultiDict, name: str) -> list[str]:
    return [part.strip() for part in (_value(args, name) or "").split(",") if part.strip()]


def _date(args: MultiDict, name: str) -> datetime | None:
    text = _value(args, name)
    try:
        return parse(text) if text else None
    except ValueError as exc:
        raise bad_request(f"{name}: {exc}") from None


def _integer(args: MultiDict, name: str, default: int, low: int, high: int) -> int:
    text = _value(args, name)
    if text is None:
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise bad_request(f"{name} must be a whole number from {low} to {high}")
    return int(text)


def page_of(args: MultiDict) -> Page:
    return Page(_integer(args, "page", 1, 1, 1_000_000), _integer(args, "page_size", PAGE_SIZE_MAX, 1, PAGE_SIZE_MAX))


def date_window(args: MultiDict, now: datetime, required: bool = True) -> tuple[datetime | None, datetime | None]:
    """(start, end) from ``start_date``/``end_date``: at most 90 days; the last 90 days when ``required``."""
    start, end = _date(args, "start_date"), _date(args, "end_date")
    if start is None and end is None:
        return (now - MAX_SPAN, None) if required else (None, None)
    if start is not None and end is not None:
        if end < start:
            raise bad_request("end_date is before start_date")
        if end - start > MAX_SPAN:
            raise bad_request("start_date to end_date may not span more than 90 days")
        return start, end
    return (start, start + MAX_SPAN) if start is not None else (end - MAX_SPAN, end)


def _statuses(args: MultiDict) -> list[str] | None:
    wanted = _listed(args, "status")
    unknown = [s for s in wanted if s.lower() not in ("open", "closed")]
    if unknown:
        raise bad_request(f"status must be open, closed or both (got {', '.join(unknown)})")
    lowered = {s.lower() for s in wanted}
    if not lowered or lowered == {"open", "closed"}:
        return None
    return OPEN if lowered == {"open"} else CLOSED


def _service_codes(args: MultiDict, catalogue: Catalogue) -> list[str]:
    codes = _listed(args, "service_code")
    unknown = [code for code in codes if catalogue.service(code) is None]
    if unknown:  # uReport #105: ignoring an unknown filter would silently answer with everything
        raise not_found(f"service_code {', '.join(unknown)} is not a service of this jurisdiction")
    return codes


def by_ids(session: Session, ids: list[str]) -> list[ServiceRequest]:
    wanted = [n for n in (normalise(i) for i in ids[:PAGE_SIZE_MAX]) if n]
    if not wanted:
        return []
    query = select(ServiceRequest).where(ServiceRequest.public_id.in_(wanted))
    return list(session.scalars(query.order_by(ServiceRequest.requested_at.desc(), ServiceRequest.id.desc())))


def filtered(args: MultiDict, catalogue: Catalogue, now: datetime) -> Select:
    """The query GET requests describes (without paging); Open311Error for a bad filter."""
    query = select(ServiceRequest)
    codes = _service_codes(args, catalogue)
    if codes:
        query = query.where(ServiceRequest.service_code.in_(codes))
    statuses = _statuses(args)
    if statuses:
        query = query.where(ServiceRequest.status.in_(statuses))
    updated_after, updated_before = _date(args, "updated_after"), _date(args, "updated_before")
    start, end = date_window(args, now, required=updated_after is None and updated_before is None)
    for column, bound, later in (
        (ServiceRequest.requested_at, start, True),
        (ServiceRequest.requested_at, end, False),
        (ServiceRequest.updated_at, updated_after, True),
        (ServiceRequest.updated_at, updated_before, False),
    ):
        if bound is not None:
            query = query.where(column >= bound if later else column <= bound)
    return query.order_by(ServiceRequest.requested_at.desc(), ServiceRequest.id.desc())


def find_requests(session: Session, args: MultiDict, catalogue: Catalogue, now: datetime) -> list[ServiceRequest]:
    ids = _listed(args, "service_request_id")
    if ids:
        return by_ids(session, ids)
    query, page = filtered(args, catalogue, now), page_of(args)
    return list(session.scalars(query.limit(page.size).offset((page.number - 1) * page.size)))


def updates(session: Session, args: MultiDict, now: datetime) -> list[tuple[RequestHistory, ServiceRequest]]:
    """Status changes in ``start_date``..``end_date`` (default: the last 24 hours), oldest first."""
    start, end = date_window(args, now, required=False)
    if start is None:
        start = now - timedelta(hours=24)
    page = page_of(args)
    query = (
        select(RequestHistory, ServiceRequest)
        .join(ServiceRequest, RequestHistory.request_id == ServiceRequest.id)
        .where(RequestHistory.action.in_(("submitted", "transition")), RequestHistory.at >= start)
    )
    if end is not None:
        query = query.where(RequestHistory.at <= end)
    query = query.order_by(RequestHistory.at, RequestHistory.id).limit(page.size).offset((page.number - 1) * page.size)
    return [(entry, request) for entry, request in session.execute(query)]
