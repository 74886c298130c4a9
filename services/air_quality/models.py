"""Air monitoring stations and their pollutant readings."""

from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.db import Base
from services.types import BigId, UtcDateTime

POLLUTANTS = ("pm25", "pm10", "so2", "no2", "o3", "co")
MEASURES = (*POLLUTANTS, "temperature", "humidity")


class AirStation(Base):
    __tablename__ = "air_stations"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(160))
    kind: Mapped[str] = mapped_column(String(20))  # national | municipal | micro
    subdistrict_id: Mapped[str] = mapped_column(ForeignKey("subdistricts.id"), index=True)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    pollutants: Mapped[list] = mapped_column(JSON, default=list)
    device_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Pointer to the newest reading by (boot, seq), kept by the ingest job.
    latest_reading_id: Mapped[int | None] = mapped_column(BigId)
    latest_boot: Mapped[int | None] = mapped_column(Integer)
    latest_seq: Mapped[int | None] = mapped_column(Integer)


class AirReading(Base):
    __tablename__ = "air_readings"
    __table_args__ = (
        UniqueConstraint("device_id", "boot", "seq", name="uq_air_readings_identity"),
        Index("ix_air_readings_station_time", "station_id", "observed_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    device_id: Mapped[str] = mapped_column(String(64))
    boot: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    station_id: Mapped[str] = mapped_column(String(40))
    observed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    pm25: Mapped[float | None] = mapped_column(Float)
    pm10: Mapped[float | None] = mapped_column(Float)
    so2: Mapped[float | None] = mapped_column(Float)
    no2: Mapped[float | None] = mapped_column(Float)
    o3: Mapped[float | None] = mapped_column(Float)
    co: Mapped[float | None] = mapped_column(Float)
    temperature: Mapped[float | None] = mapped_column(Float)
    humidity: Mapped[float | None] = mapped_column(Float)
