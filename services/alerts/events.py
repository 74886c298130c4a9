"""Publish alert changes on the live stream (after the commit, so nothing unstored is announced)."""

from __future__ import annotations

from redis import Redis

from config.topics import EventKind, RedisKeys
from services.events import bus


def publish(redis: Redis, keys: RedisKeys, events: list[dict], length: int = bus.DEFAULT_LENGTH) -> None:
    if events:
        bus.publish(redis, keys, ({"kind": str(EventKind.ALERT), **e} for e in events), length)
