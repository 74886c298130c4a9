"""Fleet health reads: the device registry (database) joined with what Redis knows of each device now.

Nothing here is stored: every answer is computed from the registry and the Redis hashes the bridge and
workers keep (device_status, last_seen, device_vitals), so it can never disagree with them.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

from redis import Redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from config.settings import Settings
from config.topics import RedisKeys
from services.devices.models import Device
from services.district.models import Subdistrict
from services.fleet import logic
from services.fleet.logic import DeviceState, Tally

FILTERS = ("kind", "subdistrict_id", "facility_id")  # applied in SQL; ``state`` needs Redis, so after


@dataclass(frozen=True)
class Liveness:
    """What Redis holds of the devices: last status, epoch s of the latest message, latest battery/RSSI."""

    status: dict[str, str]
    last_seen: dict[str, float]
    vitals: dict[str, dict]


def read_liveness(redis: Redis, keys: RedisKeys) -> Liveness:
    """The three hashes, read in one round trip."""
    pipe = redis.pipeline(transaction=False)
    pipe.hgetall(keys.device_status)
    pipe.hgetall(keys.last_seen)
    pipe.hgetall(keys.device_vitals)
    status, seen, vitals = pipe.execute()
    return Liveness(
        status={k.decode(): v.decode() for k, v in status.items()},
        last_seen={k.decode(): float(v) for k, v in seen.items()},
        vitals={k.decode(): _vitals(v) for k, v in vitals.items()},
    )


def _vitals(raw: bytes) -> dict:
    try:
        value = json.loads(raw)
    except ValueError:
        return {}  # one unreadable entry must not take the whole fleet view down
    return value if isinstance(value, dict) else {}


def _number(value) -> float | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def active_devices(session: Session, filters: dict | None = None) -> list[Device]:
    """Active (not revoked) devices, by id, narrowed by kind, subdistrict_id and facility_id."""
    query = select(Device).where(Device.active.is_(True)).order_by(Device.id)
    for name in FILTERS:
        if (filters or {}).get(name):
            query = query.where(getattr(Device, name) == str(filters[name]))
    return list(session.scalars(query))


def assess(devices: list[Device], live: Liveness, settings: Settings, now: datetime) -> list[dict]:
    """One health row per device: its state, and what the state was judged from."""
    timeouts = logic.timeouts(settings.berth_silence_s, settings.air_stale_after_s)
    at = now.timestamp()
    rows = []
    for d in devices:
        seen = live.last_seen.get(d.id)
        vitals = live.vitals.get(d.id, {})
        battery, rssi = _number(vitals.get("battery")), _number(vitals.get("rssi"))
        # A kind without a timeout of its own is judged by the berths' (the shorter and stricter of the two).
        state = logic.device_state(live.status.get(d.id), seen, at, timeouts.get(d.kind, settings.berth_silence_s))
        rows.append(
            {
                "device_id": d.id,
                "kind": d.kind,
                "state": str(state),
                "status": live.status.get(d.id),
                "last_seen": datetime.fromtimestamp(seen, UTC).isoformat() if seen is not None else None,
                "silent_s": logic.silent_seconds(seen, at),
                "battery": battery,
                "rssi": rssi,
                "battery_low": logic.battery_low(battery, settings.battery_low_percent),
                "facility_id": d.facility_id,
                "berth_id": d.berth_id,
                "station_id": d.station_id,
                "subdistrict_id": d.subdistrict_id,
                "lat": d.lat,
                "lon": d.lon,
            }
        )
    return rows


def summarise(rows: list[dict], subdistricts: list[Subdistrict], settings: Settings, now: datetime) -> dict:
    """Counts and availability per kind, and per subdistrict and kind (every kind, zeros included)."""
    timeouts = logic.timeouts(settings.berth_silence_s, settings.air_stale_after_s)
    kinds = logic.kinds_in_order(r["kind"] for r in rows)
    by_kind: dict[str, Tally] = {k: Tally() for k in kinds}
    by_place: dict[str, dict[str, Tally]] = defaultdict(lambda: {k: Tally() for k in kinds})
    for r in rows:
        state = DeviceState(r["state"])
        by_kind[r["kind"]].add(state, r["battery_low"])
        if r["subdistrict_id"]:
            by_place[r["subdistrict_id"]][r["kind"]].add(state)
    return {
        "as_of": now.isoformat(),
        "kinds": [
            {"kind": k, "timeout_s": timeouts.get(k, settings.berth_silence_s)}
            | by_kind[k].counts()
            | {"battery_low": by_kind[k].battery_low}
            for k in kinds
        ],
        "subdistricts": [
            {
                "subdistrict_id": s.id,
                "name_zh": s.name_zh,
                "name_en": s.name_en,
                "kinds": {k: t.counts() for k, t in by_place[s.id].items()},
            }
            for s in subdistricts
        ],
    }


def summary(session: Session, redis: Redis, keys: RedisKeys, settings: Settings, now: datetime) -> dict:
    """The whole fleet's health now (GET /api/v1/fleet, the ``fleet`` live event)."""
    rows = assess(active_devices(session), read_liveness(redis, keys), settings, now)
    subdistricts = list(session.scalars(select(Subdistrict).order_by(Subdistrict.id)))
    return summarise(rows, subdistricts, settings, now)


def list_health(
    session: Session,
    redis: Redis,
    keys: RedisKeys,
    settings: Settings,
    filters: dict,
    offset: int,
    limit: int,
    now: datetime,
) -> tuple[list[dict], int]:
    """Device health rows matching ``filters`` (state, kind, subdistrict_id, facility_id), worst state first
    and then by id, and how many match in all."""
    rows = assess(active_devices(session, filters), read_liveness(redis, keys), settings, now)
    if filters.get("state"):
        rows = [r for r in rows if r["state"] == str(filters["state"])]
    rows.sort(key=lambda r: (logic.STATE_ORDER[DeviceState(r["state"])], r["device_id"]))
    return rows[offset : offset + limit], len(rows)
