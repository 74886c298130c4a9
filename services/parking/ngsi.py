"""Parking as FIWARE Smart Data Models entities (keyValues): ParkingSpot, OffStreetParking, OnStreetParking.

Coordinates are WGS-84 ``[lon, lat]`` as GeoJSON requires. A berth has no position of its own in the
sample data, so a ParkingSpot carries its facility's.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.ngsi import register_entity_type, urn
from services.parking.live import current_facilities
from services.parking.logic import BerthCategory, Detection, FacilityKind, occupancy_rate
from services.parking.models import Berth, ParkingFacility
from services.runtime import Runtime

OFF_STREET, ON_STREET, SPOT = "OffStreetParking", "OnStreetParking", "ParkingSpot"
DETECTION_TYPES = {  # NGSI-LD occupancyDetectionType of each way we know a berth's state
    Detection.SENSOR.value: "singleSpaceDetection",
    Detection.BARRIER.value: "balancing",
    Detection.MANUAL.value: "manual",
}
RESERVED = {  # SDM category of a site that has berths of this kind
    BerthCategory.DISABLED.value: "forDisabled",
    BerthCategory.EV_CHARGING.value: "forElectricalCharging",
    BerthCategory.LOADING.value: "forLoadUnload",  # OnStreetParking only: OffStreetParking has no such term
}


def site_type(kind: str) -> str:
    return ON_STREET if kind == FacilityKind.ON_STREET else OFF_STREET


def _point(lat: float, lon: float) -> dict:
    return {"type": "Point", "coordinates": [lon, lat]}


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def site_entity(facility: dict) -> dict:
    """One facility (from the live directory) as OffStreetParking or OnStreetParking."""
    kind = site_type(facility["kind"])
    counts = facility["counts"]
    categories = ["public", "feeCharged"]
    if kind == OFF_STREET:
        categories.append("parkingGarage" if facility["kind"] == FacilityKind.GARAGE else "parkingLot")
    categories += [
        term
        for category, term in RESERVED.items()
        if counts["by_category"].get(category) and (kind == ON_STREET or category != BerthCategory.LOADING)
    ]
    entity = {
        "id": urn(kind, facility["id"]),
        "type": kind,
        "name": facility["name_zh"],
        "alternateName": facility["name_en"],
        "address": {"streetAddress": facility["address_zh"], "addressCountry": "CN"},
        "location": _point(facility["lat"], facility["lon"]),
        "category": categories,
        "allowedVehicleType": ["car"],
        "occupancyDetectionType": [DETECTION_TYPES[k] for k in DETECTION_TYPES if facility["detection"].get(k)],
        "totalSpotNumber": counts["total"],
        "availableSpotNumber": counts["free"],
        "occupiedSpotNumber": counts["occupied"],
        "outOfServiceSlotNumber": counts["closed"],
        "occupancyModified": _iso(counts["updated_at"]),
    }
    rate = occupancy_rate(counts)
    if kind == OFF_STREET:
        entity["openingHours"] = facility["opening_hours"]
        if rate is not None:
            entity["occupancy"] = rate
    return entity


def _sites(session: Session, rt: Runtime, kind: str) -> Iterator[dict]:
    for facility in current_facilities(rt.sessions, rt.redis, rt.keys):
        if site_type(facility["kind"]) == kind:
            yield site_entity(facility)


def spot_entities(session: Session, _rt: Runtime | None = None) -> Iterator[dict]:
    """Every berth as a ParkingSpot with its current status (from the database)."""
    rows = session.execute(
        select(Berth, ParkingFacility.kind, ParkingFacility.lat, ParkingFacility.lon)
        .join(ParkingFacility, ParkingFacility.id == Berth.facility_id)
        .order_by(Berth.id)
    )
    for berth, kind, lat, lon in rows:
        entity = {
            "id": urn(SPOT, berth.id),
            "type": SPOT,
            "name": berth.id,
            "description": berth.category,
            "location": _point(lat, lon),
            "status": berth.status,
            "category": ["onStreet" if kind == FacilityKind.ON_STREET else "offStreet"],
            "refParkingSite": urn(site_type(kind), berth.facility_id),
        }
        if berth.device_id:
            entity["refDevice"] = [urn("Device", berth.device_id)]
        if berth.status_at:
            entity["dateModified"] = (
                berth.status_at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
            )
        yield entity


def register() -> None:
    """Make the three parking types available at /ngsi-ld/v1/entities?type=..."""
    register_entity_type(SPOT, spot_entities, "Berths with their current status")
    register_entity_type(OFF_STREET, lambda s, rt: _sites(s, rt, OFF_STREET), "Car parks and garages, live counts")
    register_entity_type(ON_STREET, lambda s, rt: _sites(s, rt, ON_STREET), "Kerb segments, live counts")
