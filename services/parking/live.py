"""Current parking state in Redis: the facility directory (GEO set + descriptions) and the counts hash.

The database is the truth; Redis holds a copy that answers availability and nearby queries in O(1)
round trips. Counts are never incremented: they are recomputed from the berths (GROUP BY) under a
lock, so the cached value always equals the sum of the berths as committed.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable

from redis import Redis
from redis.exceptions import LockError, ResponseError
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from config.topics import EventKind, RedisKeys
from services.events import bus
from services.parking.logic import BerthStatus, detection, empty_counts, is_smart_managed, tally
from services.parking.models import Berth, ParkingFacility

log = logging.getLogger(__name__)

# The lock guards a read of a few GROUP BY rows and one HSET: milliseconds. A crashed holder frees it
# within LOCK_TIMEOUT_S; a waiter gives up after LOCK_WAIT_S so an ingest job never spends its time
# budget (JOB_TIMEOUT) waiting here — the minute's full refresh repairs what it skipped.
LOCK_TIMEOUT_S = 5
LOCK_WAIT_S = 2
DESCRIBED = (
    "id",
    "name_zh",
    "name_en",
    "kind",
    "subdistrict_id",
    "address_zh",
    "address_en",
    "road_zh",
    "road_en",
    "lat",
    "lon",
    "opened",
    "opening_hours",
    "tariff_zh",
    "tariff_en",
)


def describe_facilities(session: Session) -> list[dict]:
    """Each facility's descriptive fields plus its berths by detection kind (for the directory)."""
    facilities = list(session.scalars(select(ParkingFacility).order_by(ParkingFacility.id)))
    kinds = session.execute(
        select(Berth.facility_id, Berth.device_id.is_not(None), func.count()).group_by(
            Berth.facility_id, Berth.device_id.is_not(None)
        )
    ).all()
    by_facility: dict[str, dict[str, int]] = {}
    barrier = {f.id: f.barrier for f in facilities}
    for facility_id, has_sensor, n in kinds:
        kind = str(detection(bool(has_sensor), barrier[facility_id]))
        counts = by_facility.setdefault(facility_id, {})
        counts[kind] = counts.get(kind, 0) + n
    result = []
    for f in facilities:
        detected = by_facility.get(f.id, {})
        result.append(
            {c: getattr(f, c) for c in DESCRIBED}
            | {"detection": detected, "smart_managed": sum(n for k, n in detected.items() if is_smart_managed(k))}
        )
    return result


def berth_counts(session: Session, facility_ids: Iterable[str] | None = None) -> dict[str, dict]:
    """Counts per facility (and per category) straight from the berths; every facility asked for is present."""
    query = select(Berth.facility_id, Berth.category, Berth.status, func.count()).group_by(
        Berth.facility_id, Berth.category, Berth.status
    )
    ids = None if facility_ids is None else sorted(set(facility_ids))
    if ids is not None:
        query = query.where(Berth.facility_id.in_(ids))
    counts = tally(session.execute(query).all())
    for facility_id in ids or ():
        counts.setdefault(facility_id, empty_counts() | {"by_category": {}})
    return counts


def publish_directory(
    sessions: sessionmaker[Session], redis: Redis, keys: RedisKeys, replay_length: int = bus.DEFAULT_LENGTH
) -> int:
    """Write the facility directory (GEO set and descriptions) and refresh every facility's counts."""
    with sessions() as session:
        facilities = describe_facilities(session)
    pipe = redis.pipeline(transaction=True)
    for key in (keys.parking_geo, keys.parking_facilities):
        pipe.delete(key + ":staging")
    if facilities:
        pipe.geoadd(keys.parking_geo + ":staging", [v for f in facilities for v in (f["lon"], f["lat"], f["id"])])
        pipe.hset(
            keys.parking_facilities + ":staging",
            mapping={f["id"]: json.dumps(f, ensure_ascii=False) for f in facilities},
        )
        for key in (keys.parking_geo, keys.parking_facilities):
            pipe.rename(key + ":staging", key)  # one step: readers see the old directory or the new one
    pipe.execute()
    refresh_counts(sessions, redis, keys, replay_length=replay_length)
    return len(facilities)


def refresh_counts(
    sessions: sessionmaker[Session],
    redis: Redis,
    keys: RedisKeys,
    facility_ids: Iterable[str] | None = None,
    replay_length: int = bus.DEFAULT_LENGTH,
) -> list[dict]:
    """Recompute counts of these facilities (all when None) from the database into Redis.

    Run after the berth changes are committed. The lock makes read-then-write atomic across workers:
    whoever reads later writes later, so the last write always reflects the latest commit. Publishes one
    ``parking_facility`` live event per facility whose counts changed and returns those events.
    """
    ids = None if facility_ids is None else sorted(set(facility_ids))
    if ids == []:
        return []
    try:
        with redis.lock(keys.parking_counts_lock, timeout=LOCK_TIMEOUT_S, blocking_timeout=LOCK_WAIT_S):
            with sessions() as session:
                counts = berth_counts(session, ids)
            order = sorted(counts)
            previous = dict(zip(order, redis.hmget(keys.parking_counts, order), strict=True)) if order else {}
            now = time.time()
            events, pipe = [], redis.pipeline(transaction=True)
            for facility_id in order:
                new = counts[facility_id]
                old = json.loads(previous[facility_id]) if previous[facility_id] else None
                if old is not None and _same(old, new):
                    continue
                pipe.hset(keys.parking_counts, facility_id, json.dumps(new | {"updated_at": now}))
                event = {"kind": str(EventKind.PARKING_FACILITY), "facility_id": facility_id, "at": now}
                event |= {k: new[k] for k in ("total", *(s.value for s in BerthStatus))}
                bus.announce(pipe, keys, [event], replay_length)
                events.append(event)
            pipe.execute()
            return events
    except LockError:
        # Nothing is lost: the next batch touching these facilities, or the minute's full refresh, repairs it.
        log.warning("parking counts lock not acquired in %ss; counts of %s left for the next refresh", LOCK_WAIT_S, ids)
        return []


def _same(old: dict, new: dict) -> bool:
    return {k: v for k, v in old.items() if k != "updated_at"} == new


def current_facilities(sessions: sessionmaker[Session], redis: Redis, keys: RedisKeys) -> list[dict]:
    """Every facility with its live counts, from Redis (one round trip); rebuilt from the database if lost."""
    facilities = _read(redis, keys, None)
    if not facilities or any(f["counts"] is None for f in facilities):
        publish_directory(sessions, redis, keys)  # a restarted Redis, or nothing seeded it yet
        facilities = _read(redis, keys, None)
    return facilities


def nearby_facilities(
    sessions: sessionmaker[Session], redis: Redis, keys: RedisKeys, lat: float, lon: float, radius_m: float
) -> list[dict]:
    """Facilities within ``radius_m`` of a WGS-84 point, nearest first, each with ``distance_m``.

    Two Redis round trips (GEOSEARCH, then the descriptions and counts of what it found); no database.
    """
    ready, found = _geo_search(redis, keys, lat, lon, radius_m)
    if not ready:
        publish_directory(sessions, redis, keys)
        ready, found = _geo_search(redis, keys, lat, lon, radius_m)
    distances = dict(found)
    facilities = _read(redis, keys, [name for name, _ in found])
    return [f | {"distance_m": round(distances[f["id"]], 1)} for f in facilities]


def _geo_search(redis: Redis, keys: RedisKeys, lat: float, lon: float, radius_m: float):
    """(whether the GEO set exists, [(id, metres)] nearest first) in one round trip."""
    try:
        pipe = redis.pipeline(transaction=False)
        pipe.exists(keys.parking_geo)
        pipe.geosearch(
            keys.parking_geo, longitude=lon, latitude=lat, radius=radius_m, unit="m", sort="ASC", withdist=True
        )
        ready, found = pipe.execute()
    except ResponseError as exc:  # Redis before 6.2 (older embedded builds) has no GEOSEARCH
        if "unknown command" not in str(exc).lower():
            raise
        pipe = redis.pipeline(transaction=False)
        pipe.exists(keys.parking_geo)
        pipe.georadius(keys.parking_geo, lon, lat, radius_m, unit="m", withdist=True, sort="ASC")
        ready, found = pipe.execute()
    return bool(ready), [(_text(name), float(dist)) for name, dist in found]


def _read(redis: Redis, keys: RedisKeys, ids: list[str] | None) -> list[dict]:
    """Facilities (description + ``counts``, None if missing) in ``ids`` order, or all by id; one round trip."""
    pipe = redis.pipeline(transaction=False)
    if ids is None:
        pipe.hgetall(keys.parking_facilities)
        pipe.hgetall(keys.parking_counts)
        described, counted = pipe.execute()
        described = {_text(k): v for k, v in described.items()}
        counted = {_text(k): v for k, v in counted.items()}
        order = sorted(described)
    elif not ids:
        return []
    else:
        pipe.hmget(keys.parking_facilities, ids)
        pipe.hmget(keys.parking_counts, ids)
        d, c = pipe.execute()
        order, described, counted = ids, dict(zip(ids, d, strict=True)), dict(zip(ids, c, strict=True))
    return [
        json.loads(described[key]) | {"counts": json.loads(counted[key]) if counted.get(key) else None}
        for key in order
        if described.get(key) is not None
    ]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
