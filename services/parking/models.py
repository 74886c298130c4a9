"""Parking facilities, their berths, the berth sensors' occupancy events and periodic occupancy snapshots."""

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, UniqueConstraint, false
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
    opened: Mapped[int | None] = mapped_column(Integer)  # year: "off-street berths added per year" comes from it
    # True: berths without a sensor are counted by the entry/exit barrier (smart-managed, no per-berth state).
    barrier: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    opening_hours: Mapped[str] = mapped_column(String(120), default="24/7", server_default="24/7")  # OSM syntax
    tariff_zh: Mapped[str] = mapped_column(String(300), default="", server_default="")
    tariff_en: Mapped[str] = mapped_column(String(300), default="", server_default="")
    road_zh: Mapped[str | None] = mapped_column(String(60))  # on-street segments: the road they line
    road_en: Mapped[str | None] = mapped_column(String(100))


class Berth(Base):
    __tablename__ = "berths"

    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    facility_id: Mapped[str] = mapped_column(ForeignKey("parking_facilities.id"), index=True)
    smart: Mapped[bool] = mapped_column(Boolean, default=False)  # has an occupancy sensor (logic.detection)
    device_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    category: Mapped[str] = mapped_column(String(16), default="normal", server_default="normal")
    # Current state, moved only by a newer (boot, seq) so redelivered or late events can't undo it.
    status: Mapped[str] = mapped_column(String(16), default="unknown")
    status_boot: Mapped[int | None] = mapped_column(Integer)
    status_seq: Mapped[int | None] = mapped_column(Integer)
    status_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The sensor's latest word (kept while closed, so reopening knows it) and when the platform received it
    # (server time: what the silence sweep compares, immune to device clock skew).
    sensor_occupied: Mapped[bool | None] = mapped_column(Boolean)
    seen_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class BerthEvent(Base):
    __tablename__ = "berth_events"
    __table_args__ = (
        UniqueConstraint("device_id", "boot", "seq", name="uq_berth_events_identity"),
        # Statistics read one facility's berths over a time window.
        Index("ix_berth_events_berth_observed", "berth_id", "observed_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    device_id: Mapped[str] = mapped_column(String(64))
    boot: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    berth_id: Mapped[str] = mapped_column(String(48), index=True)
    occupied: Mapped[bool] = mapped_column(Boolean)
    observed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)


class OccupancySnapshot(Base):
    """A facility's counts at one moment, taken every few minutes: the basis of history charts and CSV."""

    __tablename__ = "parking_snapshots"

    facility_id: Mapped[str] = mapped_column(ForeignKey("parking_facilities.id"), primary_key=True)
    taken_at: Mapped[datetime] = mapped_column(UtcDateTime, primary_key=True)
    total: Mapped[int] = mapped_column(Integer)
    free: Mapped[int] = mapped_column(Integer)
    occupied: Mapped[int] = mapped_column(Integer)
    closed: Mapped[int] = mapped_column(Integer)
    unknown: Mapped[int] = mapped_column(Integer)
