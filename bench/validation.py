"""Validation cost per message: each sensor schema's ``load`` against its compiled fast path, side by side.

    .venv/bin/python -m bench.validation [--rounds 5] [--number 20000]

One process, the same payloads, alternating rounds: the ratio holds on a busy machine even when the
absolute microseconds drift. Results: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import statistics
import timeit
from datetime import UTC, datetime

from services.air_quality.schemas import AirReadingMessage
from services.parking.schemas import BerthStateMessage
from services.pipeline.compiled import compile_schema


def payloads() -> list[tuple[str, object, dict]]:
    now = datetime.now(UTC).isoformat()
    berth = {"boot": 1764140000, "seq": 123456, "ts": now, "occupied": True, "battery": 87.5, "rssi": -70}
    air = {"boot": 3, "seq": 9, "ts": now, "pm25": 35.0, "pm10": 61.5, "so2": 8.0, "no2": 30.0, "o3": 60.0,
           "co": 0.6, "temperature": 12.5, "humidity": 45.0}  # fmt: skip
    return [("berth state", BerthStateMessage(), berth), ("air reading", AirReadingMessage(), air)]


def measure(rounds: int, number: int) -> list[dict]:
    results = []
    for name, schema, payload in payloads():
        fast = compile_schema(schema)
        assert fast(payload) == schema.load(payload)
        slow_us, fast_us = [], []
        for _ in range(rounds):
            slow_us.append(timeit.timeit(lambda s=schema, p=payload: s.load(p), number=number) / number * 1e6)
            fast_us.append(timeit.timeit(lambda f=fast, p=payload: f(p), number=number) / number * 1e6)
        slow, quick = statistics.median(slow_us), statistics.median(fast_us)
        results.append({"message": name, "schema_us": slow, "compiled_us": quick, "ratio": slow / quick})
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--number", type=int, default=20000)
    args = parser.parse_args()
    print("| message | marshmallow `load` µs | compiled µs | ratio |\n|---|---|---|---|")
    for r in measure(args.rounds, args.number):
        print(f"| {r['message']} | {r['schema_us']:.1f} | {r['compiled_us']:.2f} | {r['ratio']:.1f}× |")


if __name__ == "__main__":
    main()
