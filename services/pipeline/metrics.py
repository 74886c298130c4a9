"""Pipeline counters and histograms kept in Redis, so every bridge and worker adds to one total.

Each process increments fields of two Redis hashes; /metrics reads them through a prometheus
collector. Field format: ``name|label=value,label=value``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily

from config.topics import RedisKeys

COUNTERS = {
    "civic_mqtt_received": ("MQTT messages the bridges received", ("kind",)),
    # Per bridge (its MQTT client id): whether every bridge of a shared subscription takes its share.
    "civic_bridge_received": ("MQTT messages each bridge handed to Redis", ("bridge",)),
    "civic_mqtt_accepted": ("Messages accepted and enqueued for storage", ("kind",)),
    "civic_mqtt_rejected": ("Messages refused into the dead-letter store", ("kind", "reason")),
    "civic_batches_enqueued": ("RQ ingest jobs enqueued by the bridges", ("kind",)),
    "civic_rows_stored": ("Rows the workers inserted (duplicates excluded)", ("kind",)),
    "civic_rows_duplicate": ("Rows the workers found already stored (redeliveries)", ("kind",)),
}
HISTOGRAMS = {
    "civic_batch_size": ("Messages per ingest batch", (1, 10, 50, 100, 250, 500, 1000, 2000)),
    "civic_batch_latency_seconds": (
        "Seconds from a batch's oldest message reaching the bridge to its commit",
        (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    ),
}


def field(name: str, **labels: str) -> str:
    return name + "|" + ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def count(pipe, keys: RedisKeys, name: str, amount: int = 1, **labels: str) -> None:
    if amount:
        pipe.hincrby(keys.counters, field(name, **labels), amount)


def observe(pipe, keys: RedisKeys, name: str, value: float) -> None:
    bounds = HISTOGRAMS[name][1]
    bucket = next((str(b) for b in bounds if value <= b), "+Inf")
    pipe.hincrby(keys.histograms, field(name, le=bucket), 1)
    pipe.hincrbyfloat(keys.histograms, field(name, stat="sum"), value)


def _parse(raw: Mapping[bytes, bytes]) -> Iterable[tuple[str, dict[str, str], float]]:
    for key, value in raw.items():
        name, _, label_text = key.decode().partition("|")
        labels = dict(p.split("=", 1) for p in label_text.split(",") if p)
        yield name, labels, float(value)


class RedisPipelineCollector:
    """Expose the shared Redis counters and histograms as Prometheus metrics."""

    def __init__(self, redis, keys: RedisKeys):
        self.redis, self.keys = redis, keys

    def collect(self):
        counters = {n: CounterMetricFamily(n, h, labels=labels) for n, (h, labels) in COUNTERS.items()}
        for name, labels, value in _parse(self.redis.hgetall(self.keys.counters)):
            family = counters.get(name)
            if family is not None:
                family.add_metric([labels.get(lbl, "") for lbl in COUNTERS[name][1]], value)
        yield from counters.values()

        found: dict[str, dict] = {n: {"buckets": {}, "sum": 0.0} for n in HISTOGRAMS}
        for name, labels, value in _parse(self.redis.hgetall(self.keys.histograms)):
            if name not in found:
                continue
            if "le" in labels:
                found[name]["buckets"][labels["le"]] = value
            elif labels.get("stat") == "sum":
                found[name]["sum"] = value
        for name, (help_text, bounds) in HISTOGRAMS.items():
            running, buckets = 0.0, []
            for bound in [*map(str, bounds), "+Inf"]:
                running += found[name]["buckets"].get(bound, 0)
                buckets.append((bound, running))
            yield HistogramMetricFamily(name, help_text, buckets=buckets, sum_value=found[name]["sum"])


def counter_values(redis, keys: RedisKeys) -> list[tuple[str, dict[str, str], float]]:
    """Every counter as (name, labels, value): what /metrics exposes, for the pipeline health snapshot."""
    return list(_parse(redis.hgetall(keys.counters)))


def counter_totals(redis, keys: RedisKeys) -> dict[str, float]:
    """Counters summed over labels, for tests and the CLI."""
    totals: dict[str, float] = {}
    for name, _labels, value in counter_values(redis, keys):
        totals[name] = totals.get(name, 0) + value
    return totals
