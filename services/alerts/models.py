"""Alerts and their append-only history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from services.db import Base
from services.types import BigId, UtcDateTime


class Alert(Base):
    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)  # e.g. air_aqi, station_offline, sensor_fault
    source_type: Mapped[str] = mapped_column(String(40))  # e.g. air_station, parking_facility
    source_id: Mapped[str] = mapped_column(String(80))
    severity: Mapped[str] = mapped_column(String(16))  # logic.Severity
    subdistrict_id: Mapped[str | None] = mapped_column(String(40), index=True)
    title_zh: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), index=True)  # logic.AlertState
    # kind|source_type|source_id while the alert is not cleared, else null: one open alert per condition.
    open_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    raised_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(120))
    assigned_to: Mapped[str | None] = mapped_column(String(120))
    cleared_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    cleared_by: Mapped[str | None] = mapped_column(String(120))


class AlertChange(Base):
    """One step of an alert's life: who did what, when; rows are only ever added."""

    __tablename__ = "alert_changes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(BigId, ForeignKey("alerts.id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    action: Mapped[str] = mapped_column(String(20))  # logic.Action
    actor: Mapped[str] = mapped_column(String(120))
    state: Mapped[str] = mapped_column(String(16))  # the alert's state after the change
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
