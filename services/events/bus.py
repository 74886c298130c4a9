"""The live event bus: one Redis Stream per district, capped, so a reconnecting dashboard can replay.

Every producer (bridge, workers, jobs, alert actions) appends with ``announce``; the SSE endpoint reads
with ``read_after``. A stream rather than pub/sub: entries have ids a browser can send back as
``Last-Event-ID``, the cap bounds memory (EVENTS_REPLAY_LENGTH, trimmed approximately, which is O(1)),
and a key lives in one Redis database (pub/sub channels are shared by every database of a server).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from redis import Redis

from config.topics import RedisKeys

FIELD = b"e"  # each entry is one field holding the event's JSON
DEFAULT_LENGTH = 20000
EVENT_ID = re.compile(r"^\d{1,20}-\d{1,20}$")


def announce(pipe, keys: RedisKeys, events: Iterable[dict], length: int = DEFAULT_LENGTH) -> None:
    """Queue one stream entry per event on ``pipe`` (a Redis pipeline or client); each event names its ``kind``."""
    for event in events:
        pipe.xadd(keys.events_stream, {FIELD: json.dumps(event, ensure_ascii=False)}, maxlen=length, approximate=True)


def publish(redis: Redis, keys: RedisKeys, events: Iterable[dict], length: int = DEFAULT_LENGTH) -> None:
    """Append the events now, in one round trip."""
    pipe = redis.pipeline(transaction=False)
    announce(pipe, keys, events, length)
    pipe.execute()


def latest_id(redis: Redis, keys: RedisKeys) -> str:
    """Id of the newest event, or ``0-0`` when there is none: where a new listener starts."""
    newest = redis.xrevrange(keys.events_stream, count=1)
    return newest[0][0].decode() if newest else "0-0"


def missed_beyond_replay(redis: Redis, keys: RedisKeys, last_id: str) -> bool:
    """True if events after ``last_id`` have been trimmed away, so replay alone cannot catch the client up."""
    oldest = redis.xrange(keys.events_stream, count=1)
    # Ids are not consecutive, so "the entry the client saw is gone" is the sign that trimming reached past it.
    return bool(oldest) and _as_tuple(oldest[0][0].decode()) > _as_tuple(last_id)


def read_after(redis: Redis, keys: RedisKeys, last_id: str, block_ms: int, count: int = 500) -> list[tuple[str, dict]]:
    """Events after ``last_id`` (waiting up to ``block_ms`` for one), as (id, event) pairs, oldest first."""
    answer = redis.xread({keys.events_stream: last_id}, count=count, block=block_ms)
    if not answer:
        return []
    return [(entry_id.decode(), json.loads(fields[FIELD])) for entry_id, fields in answer[0][1]]


def valid_id(value: str | None) -> bool:
    return bool(value) and EVENT_ID.match(value) is not None


def _as_tuple(entry_id: str) -> tuple[int, int]:
    ms, seq = entry_id.split("-")
    return int(ms), int(seq)
