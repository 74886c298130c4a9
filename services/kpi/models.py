"""One value per KPI per natural day (Asia/Shanghai): the trend the KPI board draws."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.db import Base
from services.types import BigId, UtcDateTime


class KpiSnapshot(Base):
    __tablename__ = "kpi_snapshots"
    __table_args__ = (UniqueConstraint("kpi_id", "day", name="uq_kpi_snapshots_kpi_day"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kpi_id: Mapped[str] = mapped_column(String(32))  # services.kpi.logic KPI ids, e.g. "pm25"
    day: Mapped[date] = mapped_column(Date, index=True)
    value: Mapped[float] = mapped_column(Float)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)  # the latest run that set the day's value
