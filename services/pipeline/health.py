"""Pipeline health for the ops console: the figures /metrics reports, with per-second rates between samples.

Counters, queue states, workers and backpressure come from the same functions /metrics uses; dead letters
from their store. A rate needs two samples: the previous one (counter totals, failed jobs, time) is kept
in Redis (RedisKeys.pipeline_sample); the first sample has no rates (None).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from config.topics import RedisKeys
from services.pipeline.metrics import counter_values
from services.pipeline.store import counts_by_reason
from workers.queueing import backpressure, queue_states, workers_alive

# Counter -> its total in the snapshot (summed over labels).
TOTALS = {
    "civic_mqtt_received": "received",
    "civic_mqtt_accepted": "accepted",
    "civic_mqtt_rejected": "rejected",
    "civic_rows_stored": "rows_stored",
}
SAMPLE_TTL_S = 3600  # an older sample says nothing about the current rate
STALE_S = 60  # a read (the API) replaces a sample this old: no sampling job runs, yet rates should come


@dataclass(frozen=True)
class Sample:
    """What the next sample needs from this one: counter totals, failed jobs per queue, when (epoch s)."""

    at: float
    totals: dict[str, float] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps({"at": self.at, "totals": self.totals, "failed": self.failed})

    @classmethod
    def from_json(cls, raw: bytes | str | None) -> Sample | None:
        """The stored sample, or None if there is none (or it is unreadable: then rates start over)."""
        if not raw:
            return None
        try:
            data = json.loads(raw)
            return cls(float(data["at"]), dict(data["totals"]), {k: int(v) for k, v in data["failed"].items()})
        except (ValueError, KeyError, TypeError, AttributeError):
            return None


def summarise_counters(values: Iterable[tuple[str, Mapping[str, str], float]]) -> tuple[dict[str, int], dict[str, int]]:
    """Totals of the counters in TOTALS (0 when never counted) and rejected messages by reason."""
    totals = dict.fromkeys(TOTALS.values(), 0)
    by_reason: dict[str, int] = {}
    for name, labels, value in values:
        if name in TOTALS:
            totals[TOTALS[name]] += int(value)
        if name == "civic_mqtt_rejected":
            reason = labels.get("reason", "")
            by_reason[reason] = by_reason.get(reason, 0) + int(value)
    return totals, dict(sorted(by_reason.items()))


def rates(previous: Sample | None, current: Sample) -> dict[str, float | None]:
    """Per-second rate of each total since ``previous``.

    None on the first sample, when no time has passed, or when a counter went down (Redis lost its counters):
    no rate is better than a wrong one.
    """
    elapsed = current.at - previous.at if previous is not None else 0.0
    answer: dict[str, float | None] = {}
    for name, total in current.totals.items():
        before = previous.totals.get(name) if previous is not None else None
        if before is None or elapsed <= 0 or total < before:
            answer[name] = None
        else:
            answer[name] = round((total - before) / elapsed, 3)
    return answer


def _swap(redis, keys: RedisKeys, current: Sample) -> Sample | None:
    """Store ``current`` and return the sample it replaces, in one transaction (two samplers never share one)."""
    pipe = redis.pipeline(transaction=True)
    pipe.get(keys.pipeline_sample)
    pipe.set(keys.pipeline_sample, current.to_json(), ex=SAMPLE_TTL_S)
    previous, _ = pipe.execute()
    return Sample.from_json(previous)


def _peek(redis, keys: RedisKeys, current: Sample) -> Sample | None:
    """The stored sample, replaced by ``current`` only if missing or stale: reads do not shorten the job's interval."""
    previous = Sample.from_json(redis.get(keys.pipeline_sample))
    if previous is None or current.at - previous.at > STALE_S:
        redis.set(keys.pipeline_sample, current.to_json(), ex=SAMPLE_TTL_S)
    return previous


def bridges_alive(redis, keys: RedisKeys) -> int:
    return sum(1 for _ in redis.scan_iter(match=keys.heartbeat_pattern("bridge"), count=100))


def pipeline_health(
    redis, keys: RedisKeys, session: Session, backlog_limit: int, now: datetime, *, advance: bool
) -> tuple[dict, Sample | None]:
    """The health snapshot at ``now`` and the previous sample it was measured against.

    ``advance``: this is the sampling job, whose sample becomes the next one's baseline; a read (the API)
    measures against the job's sample and leaves it, unless it is missing or stale.
    """
    totals, by_reason = summarise_counters(counter_values(redis, keys))
    queues = queue_states(redis)
    current = Sample(now.timestamp(), totals, {q["name"]: q["failed"] for q in queues})
    previous = (_swap if advance else _peek)(redis, keys, current)
    per_s = rates(previous, current)
    pending = counts_by_reason(session)
    snapshot = {
        "as_of": now.isoformat(),
        "interval_s": round(current.at - previous.at, 3) if previous is not None else None,
        "mqtt": {
            "received": totals["received"],
            "accepted": totals["accepted"],
            "rejected": totals["rejected"],
            "received_per_s": per_s["received"],
            "accepted_per_s": per_s["accepted"],
            "rejected_per_s": per_s["rejected"],
            "rejected_by_reason": by_reason,
        },
        "rows_stored": totals["rows_stored"],
        "rows_stored_per_s": per_s["rows_stored"],
        "queues": queues,
        "workers": workers_alive(redis),
        "bridges": bridges_alive(redis, keys),
        "backpressure": backpressure(redis, keys, backlog_limit),
        "dead_letters": {"pending": sum(pending.values()), "by_reason": dict(sorted(pending.items()))},
    }
    return snapshot, previous
