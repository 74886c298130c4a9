"""Device registry queries, seeding from the district file, and the Redis copy the bridge reads."""

from __future__ import annotations

from datetime import UTC, datetime

from redis import Redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from config.topics import RedisKeys
from services.air_quality.models import AirStation
from services.db import insert_ignoring_duplicates
from services.devices.models import Device
from services.district.loader import District
from services.district.models import Community, Subdistrict
from services.parking.models import Berth, ParkingFacility
from services.pipeline.intake import DeviceRef


def seed_district(session: Session, district: District) -> dict[str, int]:
    """Insert what the district file describes and the database lacks; existing rows are kept as they are."""
    now = datetime.now(UTC)
    devices = [d.__dict__ | {"kind": str(d.kind), "active": True, "created_at": now} for d in district.devices]
    plan = [
        (Subdistrict, district.subdistricts),
        (Community, district.communities),
        (ParkingFacility, district.facilities),
        (AirStation, district.stations),
        (Berth, district.berths),
        (Device, devices),
    ]
    added = {}
    for model, rows in plan:
        inserted = insert_ignoring_duplicates(session, model, rows, ["id"], returning=(model.id,))
        added[model.__tablename__] = len(inserted)
    return added


def list_devices(
    session: Session,
    kind: str | None = None,
    facility_id: str | None = None,
    station_id: str | None = None,
    active: bool | None = None,
) -> list[Device]:
    query = select(Device).order_by(Device.id)
    if kind:
        query = query.where(Device.kind == kind)
    if facility_id:
        query = query.where(Device.facility_id == facility_id)
    if station_id:
        query = query.where(Device.station_id == station_id)
    if active is not None:
        query = query.where(Device.active == active)
    return list(session.scalars(query))


def to_ref(device: Device) -> DeviceRef:
    return DeviceRef(device.id, device.kind, device.active, device.facility_id, device.berth_id, device.station_id)


def publish_registry(session: Session, redis: Redis, keys: RedisKeys) -> int:
    """Replace the Redis copy of the registry in one step, so a bridge never sees it half-written."""
    devices = list(session.scalars(select(Device)))
    staging = keys.registry + ":staging"
    pipe = redis.pipeline(transaction=True)
    pipe.delete(staging)
    if devices:
        pipe.hset(staging, mapping={d.address: to_ref(d).to_json() for d in devices})
        pipe.rename(staging, keys.registry)
    else:
        pipe.delete(keys.registry)
    pipe.execute()
    return len(devices)
