"""Registered sensors: what may publish, from where, for which facility or station."""

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from services.db import Base
from services.types import UtcDateTime


class Device(Base):
    __tablename__ = "devices"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    # What the device's topic names (e.g. "parking/P-ZIYANGLI/P-ZIYANGLI-001"): unique per device.
    address: Mapped[str] = mapped_column(String(128), unique=True)
    subdistrict_id: Mapped[str | None] = mapped_column(ForeignKey("subdistricts.id"), index=True)
    facility_id: Mapped[str | None] = mapped_column(String(40), index=True)
    berth_id: Mapped[str | None] = mapped_column(String(48))
    station_id: Mapped[str | None] = mapped_column(String(40))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
