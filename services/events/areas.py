"""Which subdistrict a live event is about, for the stream's area filter."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.air_quality.models import AirStation
from services.devices.models import Device
from services.district.models import Community, Subdistrict
from services.parking.models import ParkingFacility

# Event fields that name a place, most specific first; an event naming none is district-wide.
PLACE_FIELDS = ("subdistrict_id", "facility_id", "station_id", "community_id", "device_id")


class AreaIndex:
    """Subdistrict of every facility, station, community and device, read once per stream."""

    def __init__(self, session: Session) -> None:
        self.subdistricts = set(session.scalars(select(Subdistrict.id)))
        self._by_field: dict[str, dict[str, str]] = {
            "facility_id": dict(session.execute(select(ParkingFacility.id, ParkingFacility.subdistrict_id)).all()),
            "station_id": dict(session.execute(select(AirStation.id, AirStation.subdistrict_id)).all()),
            "community_id": dict(session.execute(select(Community.id, Community.subdistrict_id)).all()),
            "device_id": dict(session.execute(select(Device.id, Device.subdistrict_id)).all()),
        }

    def area_of(self, event: dict) -> str | None:
        """The event's subdistrict, or None for a district-wide event (pipeline, KPIs, fleet totals)."""
        for name in PLACE_FIELDS:
            value = event.get(name)
            if value is None:
                continue
            if name == "subdistrict_id":
                return value
            found = self._by_field[name].get(value)
            if found is not None:
                return found
        return None

    def admits(self, event: dict, wanted: set[str]) -> bool:
        """True if the event is about one of the wanted subdistricts, or about the whole district."""
        area = self.area_of(event)
        return area is None or area in wanted
