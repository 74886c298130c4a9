"""AirQualityObserved entities (FIWARE Smart Data Models, keyValues) for /ngsi-ld/v1/entities.

Emitted as the schema says (not as the upstream example does): dateObserved with its offset,
relativeHumidity as a fraction 0-1, airQualityIndex an integer. Flagged values are left out.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC

from sqlalchemy.orm import Session

from services.air_quality.aqi import Standard
from services.air_quality.aqi_categories import category
from services.air_quality.measures import POLLUTANTS
from services.air_quality.queries import latest_hourly
from services.air_quality.store import latest_readings
from services.ngsi import register_entity_type, urn
from services.runtime import Runtime

TYPE = "AirQualityObserved"


def entities(session: Session, _runtime: Runtime) -> Iterator[dict]:
    """Each station's newest reading as an observation, with its latest hourly AQI (China standard)."""
    aqi = latest_hourly(session)
    for station, reading in latest_readings(session):
        if reading is None:
            continue  # nothing observed yet: dateObserved is required
        flagged = reading.quality or {}
        entity = {
            "id": urn(TYPE, station.id),
            "type": TYPE,
            "name": station.name_zh,
            "alternateName": station.name_en,
            "dateObserved": reading.observed_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "location": {"type": "Point", "coordinates": [station.lon, station.lat]},
            "areaServed": station.subdistrict_id,
            "typeofLocation": "outdoor",
            "refDevice": urn("Device", station.device_id),
            "dataProvider": "CivicPulse",
        }
        for p in POLLUTANTS:
            value = getattr(reading, p)
            if value is not None and p not in flagged:
                entity[p] = value  # µg/m³, CO mg/m³
        if reading.temperature is not None and "temperature" not in flagged:
            entity["temperature"] = reading.temperature
        if reading.humidity is not None and "humidity" not in flagged:
            entity["relativeHumidity"] = round(reading.humidity / 100, 4)
        hourly = aqi.get(station.id)
        if hourly is not None:
            entity["airQualityIndex"] = hourly.aqi
            entity["airQualityLevel"] = category(Standard(hourly.aqi_standard), hourly.aqi).en.lower()
        yield entity


register_entity_type(TYPE, entities, "Air-quality stations' latest observations (HJ 633 hourly AQI)")
