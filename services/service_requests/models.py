"""Service requests and their history. Column names follow Open311 GeoReport v2 where it has one:
public_id -> service_request_id, requested_at -> requested_datetime, updated_at -> updated_datetime,
resolution_due_at -> expected_datetime, agency_responsible, address, lat/lon -> lat/long, attributes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column

from services.db import Base
from services.types import BigId, UtcDateTime


class ServiceRequest(Base):
    __tablename__ = "service_requests"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    public_id: Mapped[str | None] = mapped_column(String(32), unique=True)  # HP-2026-000123-7KQX
    service_code: Mapped[str] = mapped_column(String(40), index=True)
    category: Mapped[str] = mapped_column(String(40))
    private: Mapped[bool] = mapped_column(default=False)  # copied from the catalogue when submitted
    community_id: Mapped[str | None] = mapped_column(ForeignKey("communities.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    address: Mapped[str | None] = mapped_column(String(300))
    lat: Mapped[float | None] = mapped_column(Float)  # WGS-84
    lon: Mapped[float | None] = mapped_column(Float)
    attributes: Mapped[dict] = mapped_column(JSON, default=dict)
    resident_name: Mapped[str] = mapped_column(String(80))
    resident_phone: Mapped[str] = mapped_column(String(32))
    resident_email: Mapped[str | None] = mapped_column(String(200))
    agency_responsible: Mapped[str] = mapped_column(String(120))
    assignee: Mapped[str | None] = mapped_column(String(120))
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("service_requests.id"))
    channel: Mapped[str] = mapped_column(String(16), default="desk")  # desk, open311, ...
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Open311 submissions: the application's key, its own ids for the resident (never shown), the photos
    # (stored file names or the client's media_url) and the token answered when the id came later.
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))
    client_account_id: Mapped[str | None] = mapped_column(String(80))
    client_device_id: Mapped[str | None] = mapped_column(String(80))
    media: Mapped[list] = mapped_column(JSON, default=list)
    token: Mapped[str | None] = mapped_column(String(40), unique=True)
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    # SLA clocks (recomputed from the history at every change; None while a clock is stopped or paused)
    response_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    resolution_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    # when the sweep first found a clock overdue (so each breach is announced once)
    response_breached_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    resolution_breached_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class RequestHistory(Base):
    """One entry per change, written once and never updated or deleted."""

    __tablename__ = "service_request_history"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_requests.id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    action: Mapped[str] = mapped_column(String(16))  # submitted, transition, routed, sla_breach
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_name: Mapped[str] = mapped_column(String(64))
    actor_role: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")


class HistoryIsAppendOnly(RuntimeError):
    pass


@event.listens_for(RequestHistory, "before_update")
@event.listens_for(RequestHistory, "before_delete")
def _refuse_rewrite(_mapper, _connection, entry: RequestHistory) -> None:
    raise HistoryIsAppendOnly(f"history entry {entry.id} is never rewritten")
