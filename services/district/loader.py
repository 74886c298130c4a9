"""Read the district file (config/district/<id>.yaml) into plain records, deriving berths and devices."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from config.topics import DeviceKind, device_address
from services.parking.logic import BerthCategory


@dataclass(frozen=True)
class DeviceSpec:
    id: str
    kind: DeviceKind
    address: str
    subdistrict_id: str
    lat: float
    lon: float
    facility_id: str | None = None
    berth_id: str | None = None
    station_id: str | None = None


@dataclass(frozen=True)
class District:
    id: str
    raw: dict
    subdistricts: list[dict] = field(default_factory=list)
    communities: list[dict] = field(default_factory=list)
    facilities: list[dict] = field(default_factory=list)
    berths: list[dict] = field(default_factory=list)
    stations: list[dict] = field(default_factory=list)
    devices: list[DeviceSpec] = field(default_factory=list)


def berth_id(facility_id: str, number: int) -> str:
    return f"{facility_id}-{number:03d}"


def sensor_id(owner_id: str) -> str:
    """Device id of the sensor on a berth or at a station."""
    return f"S-{owner_id}"


def berth_categories(facility_id: str, reserved: dict[str, int], berths: int) -> list[str]:
    """Category of berths 1..N: the reserved ones numbered from 001 in BerthCategory order, then normal."""
    unknown = set(reserved) - {c.value for c in BerthCategory}
    if unknown:
        raise ValueError(f"facility {facility_id}: unknown berth categories {sorted(unknown)}")
    ordered = [str(c) for c in BerthCategory if c is not BerthCategory.NORMAL for _ in range(reserved.get(c, 0))]
    if len(ordered) > berths:
        raise ValueError(f"facility {facility_id}: more reserved berths than berths")
    return ordered + [str(BerthCategory.NORMAL)] * (berths - len(ordered))


def load_district(path: Path) -> District:
    """Parse and check the district file; raise ValueError naming what is wrong."""
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    subdistricts, communities = [], []
    for sub in raw["subdistricts"]:
        subdistricts.append({k: sub[k] for k in ("id", "name_zh", "name_en")} | sub["centre"])
        communities += [c | {"subdistrict_id": sub["id"]} for c in sub.get("communities", [])]
    known = {s["id"] for s in subdistricts}

    facilities, berths, devices = [], [], []
    for fac in raw.get("parking_facilities", []):
        if fac["subdistrict"] not in known:
            raise ValueError(f"facility {fac['id']}: unknown subdistrict {fac['subdistrict']!r}")
        if not 0 <= fac["smart_berths"] <= fac["berths"]:
            raise ValueError(f"facility {fac['id']}: smart_berths must be between 0 and berths")
        categories = berth_categories(fac["id"], fac.get("categories") or {}, fac["berths"])
        loc = fac["location"]
        facilities.append(
            {
                "id": fac["id"],
                "name_zh": fac["name_zh"],
                "name_en": fac["name_en"],
                "kind": fac["kind"],
                "subdistrict_id": fac["subdistrict"],
                "address_zh": fac.get("address_zh", ""),
                "address_en": fac.get("address_en", ""),
                "lat": loc["lat"],
                "lon": loc["lon"],
                "opened": fac.get("opened"),
                "barrier": bool(fac.get("barrier", False)),
                "opening_hours": fac.get("opening_hours", "24/7"),
                "tariff_zh": fac.get("tariff_zh", ""),
                "tariff_en": fac.get("tariff_en", ""),
                "road_zh": fac.get("road_zh"),
                "road_en": fac.get("road_en"),
            }
        )
        for n in range(1, fac["berths"] + 1):
            bid = berth_id(fac["id"], n)
            smart = n <= fac["smart_berths"]
            berths.append(
                {
                    "id": bid,
                    "facility_id": fac["id"],
                    "smart": smart,
                    "device_id": sensor_id(bid) if smart else None,
                    "category": categories[n - 1],
                }
            )
            if smart:
                devices.append(
                    DeviceSpec(
                        id=sensor_id(bid),
                        kind=DeviceKind.PARKING_BERTH,
                        address=device_address(DeviceKind.PARKING_BERTH, fac["id"], bid),
                        subdistrict_id=fac["subdistrict"],
                        lat=loc["lat"],
                        lon=loc["lon"],
                        facility_id=fac["id"],
                        berth_id=bid,
                    )
                )

    stations = []
    for st in raw.get("air_stations", []):
        if st["subdistrict"] not in known:
            raise ValueError(f"station {st['id']}: unknown subdistrict {st['subdistrict']!r}")
        loc = st["location"]
        stations.append(
            {
                "id": st["id"],
                "name_zh": st["name_zh"],
                "name_en": st["name_en"],
                "kind": st["kind"],
                "subdistrict_id": st["subdistrict"],
                "lat": loc["lat"],
                "lon": loc["lon"],
                "pollutants": list(st.get("pollutants", [])),
                "device_id": sensor_id(st["id"]),
            }
        )
        devices.append(
            DeviceSpec(
                id=sensor_id(st["id"]),
                kind=DeviceKind.AIR_STATION,
                address=device_address(DeviceKind.AIR_STATION, st["id"]),
                subdistrict_id=st["subdistrict"],
                lat=loc["lat"],
                lon=loc["lon"],
                station_id=st["id"],
            )
        )
    return District(raw["district"]["id"], raw, subdistricts, communities, facilities, berths, stations, devices)
