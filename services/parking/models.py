"""Parking facilities, their berths and the berth sensors' occupancy events."""

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.db import Base
from services.types import BigId, UtcDateTime


class ParkingFacility(Base):
    __tablename__ = "parking_facilities"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(160))
    kind: Mapped[str] = mapped_column(String(20))  # off_street | garage | on_street
    subdistrict_id: Mapped[str] = mapped_column(ForeignKey("subdistricts.id"), index=True)
    address_zh: Mapped[str] = mapped_column(String(200), default="")
    address_en: Mapped[str] = mapped_column(String(200), default="")
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    opened: Mapped[int | None] = mapped_column(Integer)


class Berth(Base):
    __tablename__ = "berths"

    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    facility_id: Mapped[str] = mapped_column(ForeignKey("parking_facilities.id"), index=True)
    smart: Mapped[bool] = mapped_column(Boolean, default=False)
    device_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Current state, moved only by a newer (boot, seq) so redelivered or late events can't undo it.
    status: Mapped[str] = mapped_column(String(16), default="unknown")
    status_boot: Mapped[int | None] = mapped_column(Integer)
    status_seq: Mapped[int | None] = mapped_column(Integer)
    status_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class BerthEvent(Base):
    __tablename__ = "berth_events"
    __table_args__ = (UniqueConstraint("device_id", "boot", "seq", name="uq_berth_events_identity"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    device_id: Mapped[str] = mapped_column(String(64))
    boot: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    berth_id: Mapped[str] = mapped_column(String(48), index=True)
    occupied: Mapped[bool] = mapped_column(Boolean)
    observed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
