"""Air monitoring stations and their pollutant readings."""

from datetime import date, datetime

from sqlalchemy import JSON, Date, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.db import Base
from services.types import BigId, UtcDateTime


class Measures:
    """One nullable column per measure (MEASURES): a reading's values, or an hour's or a day's means."""

    pm25: Mapped[float | None] = mapped_column(Float)
    pm10: Mapped[float | None] = mapped_column(Float)
    so2: Mapped[float | None] = mapped_column(Float)
    no2: Mapped[float | None] = mapped_column(Float)
    o3: Mapped[float | None] = mapped_column(Float)
    co: Mapped[float | None] = mapped_column(Float)
    temperature: Mapped[float | None] = mapped_column(Float)
    humidity: Mapped[float | None] = mapped_column(Float)


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


class AirReading(Measures, Base):
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
    # Measure -> quality code (services.air_quality.checks) for each value the checks flagged; null: all good.
    quality: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))


class AirHourly(Measures, Base):
    """One station's hourly means (null where the hour is not valid) and its real-time AQI."""

    __tablename__ = "air_hourly"

    station_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    hour_start: Mapped[datetime] = mapped_column(UtcDateTime, primary_key=True)
    # Measure -> five-minute slots holding a good value / readings the checks flagged.
    slots: Mapped[dict] = mapped_column(JSON, default=dict)
    flagged: Mapped[dict] = mapped_column(JSON, default=dict)
    aqi: Mapped[int | None] = mapped_column(Integer)
    aqi_standard: Mapped[str | None] = mapped_column(String(16))
    primary_pollutants: Mapped[list] = mapped_column(JSON, default=list)
    computed_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AirDaily(Measures, Base):
    """One station's means over a natural day in Asia/Shanghai (null where the day is not valid)."""

    __tablename__ = "air_daily"

    station_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    o3_8h_max: Mapped[float | None] = mapped_column(Float)
    # Measure -> valid hourly values that day; o3_8h -> valid 8-hour windows.
    hours: Mapped[dict] = mapped_column(JSON, default=dict)
    computed_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AirDirtyHour(Base):
    """An hour whose readings changed since it was last rolled up (written with the readings)."""

    __tablename__ = "air_dirty_hours"

    station_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    hour_start: Mapped[datetime] = mapped_column(UtcDateTime, primary_key=True)
    # Bumped on every new reading: the rollup removes the mark only if nothing arrived while it worked.
    marked_at: Mapped[datetime] = mapped_column(UtcDateTime)
