"""The bridges' side of the device registry: the Redis copy that ``store.publish_registry`` writes.

Apart from the store so that a bridge, which never opens the database, does not import SQLAlchemy.
"""

from __future__ import annotations

from redis import Redis

from config.topics import RedisKeys
from services.pipeline.intake import DeviceRef, Registry


def read_registry(redis: Redis, keys: RedisKeys) -> Registry:
    raw = redis.hgetall(keys.registry)
    return Registry((addr.decode(), DeviceRef.from_json(ref)) for addr, ref in raw.items())
