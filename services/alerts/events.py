"""Publish alert changes on the live stream (after the commit, so nothing unstored is announced)."""

from __future__ import annotations

import json

from redis import Redis

from config.topics import EventKind, RedisKeys


def publish(redis: Redis, keys: RedisKeys, events: list[dict]) -> None:
    if not events:
        return
    pipe = redis.pipeline(transaction=False)
    for e in events:
        pipe.publish(keys.events_channel, json.dumps({"kind": str(EventKind.ALERT), **e}, ensure_ascii=False))
    pipe.execute()
