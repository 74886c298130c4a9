"""One row per staff action; rows are only ever added (PostgreSQL refuses UPDATE and DELETE on the table)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from services.db import Base
from services.types import BigId, UtcDateTime


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(64), index=True)  # account username, "system", or the name tried
    actor_role: Mapped[str] = mapped_column(String(16))  # services.accounts.roles.Role
    action: Mapped[str] = mapped_column(String(40), index=True)  # e.g. request.transition, device.provision
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(80))
    outcome: Mapped[str] = mapped_column(String(16), default="ok")  # ok | denied (e.g. a failed login)
    source_ip: Mapped[str | None] = mapped_column(String(45))  # the staff member's client address, if over HTTP
    detail: Mapped[dict] = mapped_column(JSON, default=dict)  # ids, states and counts only: no personal data
