"""Service requests as FIWARE Smart Data Models ``service_requests`` entities (keyValues), public fields only.

The schema is Open311's request, so the names map one to one (see models.py). Left out on purpose:
the resident's name, phone and e-mail, the account that logged it, staff notes and the answers to
the service's questions (they can be personal, and the schema's ``attributes`` describes questions,
not answers). A request of a private service shows only its service, status, dates and agency; the
address and location only where the service's place is public (``public_location`` in the catalogue).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.ngsi import register_entity_type, urn
from services.runtime import Runtime
from services.service_requests.catalogue import Service, district_catalogue
from services.service_requests.lifecycle import Status, open311_status
from services.service_requests.models import ServiceRequest

TYPE = "service_requests"  # the schema's own (lower-case, plural) type name
COLUMNS = (  # everything the entity may show, and nothing else: personal columns are never even read
    ServiceRequest.public_id,
    ServiceRequest.service_code,
    ServiceRequest.private,
    ServiceRequest.status,
    ServiceRequest.community_id,
    ServiceRequest.description,
    ServiceRequest.address,
    ServiceRequest.lat,
    ServiceRequest.lon,
    ServiceRequest.agency_responsible,
    ServiceRequest.requested_at,
    ServiceRequest.updated_at,
    ServiceRequest.resolution_due_at,
)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def request_entity(row, service: Service | None) -> dict:
    """One request (a row of COLUMNS) as a keyValues entity; ``service`` is its catalogue entry, if still there."""
    entity = {
        "id": urn(TYPE, row.public_id),
        "type": TYPE,
        "service_request_id": row.public_id,
        "service_code": row.service_code,
    }
    if service is not None:
        entity["service_name"] = service.name_zh
    entity |= {
        "status": open311_status(Status(row.status)),
        "status_notes": row.status,  # the fine status (in_progress, on_hold, ...); staff notes stay private
        "agency_responsible": row.agency_responsible,
        "requested_datetime": _iso(row.requested_at),
        "updated_datetime": _iso(row.updated_at),
    }
    if row.resolution_due_at is not None:
        entity["expected_datetime"] = _iso(row.resolution_due_at)  # the SLA's resolution due time
    entity["dataProvider"] = "CivicPulse"
    # A service made private after the request was logged hides it too: the stricter flag wins.
    if row.private or (service is not None and service.private):
        return entity
    if row.description:
        entity["description"] = row.description
    if service is not None and service.public_location:  # a street or a lamp post, not someone's home
        if row.address:
            entity["address_string"] = row.address
        if row.lat is not None and row.lon is not None:
            entity["location"] = {"type": "Point", "coordinates": [row.lon, row.lat]}
    if row.community_id:
        entity["areaServed"] = row.community_id
    return entity


def entities(session: Session, rt: Runtime) -> Iterator[dict]:
    """Every request, oldest first, read in chunks (the endpoint pages through this with offset and limit)."""
    catalogue = district_catalogue(rt.settings.district_file)
    query = (
        select(*COLUMNS)
        .where(ServiceRequest.public_id.is_not(None))
        .order_by(ServiceRequest.id)
        .execution_options(yield_per=500)
    )
    for row in session.execute(query):
        yield request_entity(row, catalogue.service(row.service_code))


def register() -> None:
    """Make service requests available at /ngsi-ld/v1/entities?type=service_requests."""
    register_entity_type(TYPE, entities, "Community service requests, public fields only (Open311 model)")
