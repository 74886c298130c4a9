"""NGSI-LD entity output (FIWARE Smart Data Models, keyValues form) for every module.

Each module registers the entity types it can produce; ``/ngsi-ld/v1/entities?type=...`` serves them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from services.runtime import Runtime

# The core context plus the Smart Data Models context that defines the terms our entities use.
CONTEXT = [
    "https://smartdatamodels.org/context.jsonld",
    "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.7.jsonld",
]

EntityRows = Callable[[Session, Runtime], Iterable[dict]]


@dataclass(frozen=True)
class EntityType:
    """A type served under /ngsi-ld/v1/entities: ``rows`` yields keyValues entities without @context."""

    name: str
    rows: EntityRows
    description: str = ""


_TYPES: dict[str, EntityType] = {}


def register_entity_type(name: str, rows: EntityRows, description: str = "") -> None:
    """Make ``name`` available as ``?type=name``; called by each module at import time."""
    _TYPES[name] = EntityType(name, rows, description)


def entity_types() -> dict[str, EntityType]:
    return dict(_TYPES)


def urn(entity_type: str, local_id: str) -> str:
    """The NGSI-LD id of one of our entities: ``urn:ngsi-ld:<Type>:<district-local id>``."""
    return f"urn:ngsi-ld:{entity_type}:{local_id}"
