"""`civic bench soak`: the platform's own processes' memory over a long run under steady load.

One run: the real platform (bridge, N workers, the scheduler, `civic web` = gunicorn and its workers)
against a scratch PostgreSQL database and a spare Redis database; a paced MQTT publisher at the ingest
rate for the whole run; a light, steady HTTP load on the web from a thread of this process (a few
requests/s of /api/v1/parking/nearby and /healthz). Every interval: the RSS of each platform process
tree, their total, the ingest counters. At the end: loss and duplicates of the readings, by identity,
as `civic bench ingest` counts them. The publisher and this process are load, not platform: not counted.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import shutil
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench import clients
from bench.api import BASELINE, BBOX, NEARBY
from bench.platform import (
    READY_TIMEOUT,
    BenchError,
    Proc,
    bench_broker,
    counter_delta,
    counters,
    open_scratch_run,
    start_publisher,
    stop_platform,
    wait_ready,
)
from bench.rss import sample_total, summarise_series, tree_pss_mib, tree_rss_mib
from bench.stats import index_of, tally
from config.settings import parse_mqtt_url
from config.topics import Queues
from workers.ports import free_port, wait_port

TARGET_MIB = 400.0  # issue 10: the platform's own Python processes together
DRIFT_TOLERANCE_MIB = 5.0  # per 10 minutes: below this a slope is allocator noise, not a leak


@dataclass
class Options:
    rate: float = 2000.0
    duration: float = 600.0
    interval: float = 10.0
    warmup: float = 60.0
    http_rate: float = 4.0
    workers: int = 1  # as deployed: docker-compose.yml and `civic run` start one (`--scale worker=N` adds more)
    web_workers: int = 2
    web_threads: int = 8
    progress: bool = True


class HttpLoad(threading.Thread):
    """A steady trickle of GETs, alternating a random nearby query and /healthz; counts answers by status."""

    def __init__(self, base_url: str, rate: float):
        super().__init__(daemon=True, name="soak-http")
        self.base_url, self.period = base_url, 1.0 / rate
        self.statuses: Counter[str] = Counter()
        self.stop_event = threading.Event()

    def _path(self, n: int) -> str:
        if n % 2:
            return BASELINE
        south, west, north, east = BBOX
        return NEARBY.format(
            lat=f"{random.uniform(south, north):.5f}",
            lon=f"{random.uniform(west, east):.5f}",
            radius=random.randint(300, 1500),
        )

    def run(self) -> None:
        n, next_at = 0, time.monotonic()
        while not self.stop_event.is_set():
            try:
                with urllib.request.urlopen(self.base_url + self._path(n), timeout=10) as response:
                    response.read()
                    self.statuses[str(response.status)] += 1
            except urllib.error.HTTPError as exc:
                self.statuses[str(exc.code)] += 1
            except OSError as exc:
                self.statuses[type(exc).__name__] += 1
            n += 1
            next_at += self.period
            self.stop_event.wait(max(0.0, next_at - time.monotonic()))


def run_soak(opts: Options, env: Mapping[str, str] | None = None) -> dict:
    env = dict(os.environ if env is None else env)
    started = time.time()  # not the run's boot: that is later when a former run's boot was
    settings, rt, redis_version, db, boot, berths, topics = open_scratch_run(env)
    log = (lambda msg: print(msg, file=sys.stderr)) if opts.progress else (lambda _msg: None)
    ctx = multiprocessing.get_context("spawn")
    workdir = Path(tempfile.mkdtemp(prefix=f"civic-bench-soak-{boot}-"))
    broker, bridge_url, pub_url = bench_broker(settings, rt)
    procs: list[Proc] = []
    publisher = http = None
    try:
        proc_env = {**env, "MQTT_URL": bridge_url, "CIVIC_DATA_DIR": str(workdir)}
        procs.append(Proc("bridge", ["bridge", "--client-id", f"civic-bench-soak-{boot}"], proc_env, workdir))
        # Before the workers, as deployed: it takes rq's scheduler lock, so no worker forks a scheduler.
        procs.append(Proc("scheduler", ["scheduler"], proc_env, workdir))
        wait_for_rq_scheduler(rt)
        for n in range(opts.workers):
            procs.append(Proc(f"worker-{n + 1}", ["worker", "--name", f"bench-soak-{boot}-{n + 1}"], proc_env, workdir))
        port = free_port()
        web_args = ["web", "--port", str(port), "--workers", str(opts.web_workers), "--threads", str(opts.web_threads)]
        procs.append(Proc("web", web_args, proc_env, workdir))  # last: stop_platform stops it after the drain
        wait_ready(rt, procs, opts.workers)
        if not wait_port("127.0.0.1", port, READY_TIMEOUT):
            raise BenchError(f"civic web did not listen within {READY_TIMEOUT:.0f} s:\n{procs[-1].output()}")
        log(f"bench soak run {boot}: web on 127.0.0.1:{port}, ingest {opts.rate:,.0f}/s for {opts.duration:.0f} s")

        plan = clients.PublishPlan(parse_mqtt_url(pub_url), topics, boot, opts.rate, opts.duration, 4, f"soak-{boot}")
        publisher, shared, go, recv = start_publisher(ctx, plan)
        http = HttpLoad(f"http://127.0.0.1:{port}", opts.http_rate)
        before = counters(rt)
        go.set()
        http.start()
        samples = _sample(opts, rt, procs, before, http, shared, log)
        http.stop_event.set()
        pub = _publisher_report(recv, publisher)
        _wait_stored(rt, before)
        stop_platform(rt, procs)
        with rt.engine.connect() as conn:
            from sqlalchemy import text

            stored = conn.execute(text("SELECT device_id, seq FROM berth_events WHERE boot = :b"), {"b": boot}).all()
        after = counters(rt)
    finally:
        if http is not None:
            http.stop_event.set()
        if publisher is not None and publisher.is_alive():
            publisher.terminate()
        stop_platform(rt, procs)
        if broker is not None:
            broker.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)
        rt.close()

    device_index = {d.id: n for n, d in enumerate(berths)}
    devices = len(berths)
    counts = tally(
        pub["published"],
        pub["acked"],
        (index_of(device_index[d], s, devices) if d in device_index and s >= 1 else None for d, s in stored),
    )
    names = [p for p in samples[0]["rss_mib"] if p != "total"] if samples else []
    return {
        "summary": summarise_series(samples, names, opts.warmup),
        "summary_pss": summarise_series(samples, names, opts.warmup, key="pss_mib"),
        "target_mib": TARGET_MIB,
        "drift_tolerance_mib_per_10min": DRIFT_TOLERANCE_MIB,
        "published": counts.published,
        "acked": counts.acked,
        "stored": counts.stored,
        "lost": counts.lost,
        "duplicates": counts.duplicates,
        "foreign_rows": counts.foreign,
        "rows_stored_counter": counter_delta(before, after, "civic_rows_stored"),
        "http": dict(http.statuses),
        "options": {k: getattr(opts, k) for k in opts.__dataclass_fields__ if k != "progress"},
        "run_boot": boot,
        "started_at": datetime.fromtimestamp(started, UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "loadavg_end": [round(x, 2) for x in os.getloadavg()],
            "postgres": db["postgres"],
            "redis": redis_version,
        },
        "samples": samples,
    }


def wait_for_rq_scheduler(rt, timeout: float = 30.0) -> None:
    from workers.schedule import rq_scheduler_running

    deadline = time.monotonic() + timeout
    while not rq_scheduler_running(rt.redis):
        if time.monotonic() > deadline:
            raise BenchError(f"civic scheduler did not take rq's scheduler locks within {timeout:.0f} s")
        time.sleep(0.2)


def _sample(opts: Options, rt, procs: list[Proc], before: dict, http: HttpLoad, shared, log) -> list[dict]:
    """Every ``interval`` until ``duration``: each process tree's RSS, the total, the ingest counters."""
    queue_key = rt.queue(Queues.INGEST).key
    samples: list[dict] = []
    start = time.monotonic()
    k = 0
    while True:
        t = time.monotonic() - start
        for p in procs:
            if not p.alive():
                raise BenchError(f"{p.name} exited during the run:\n{p.output()}")
        rss, pss, trees = {}, {}, {}
        for p in procs:
            rss[p.name], trees[p.name] = tree_rss_mib(p.pid)
            pss[p.name] = tree_pss_mib(p.pid)[0]
        now = counters(rt)
        sample = {
            "t": round(t, 1),
            "rss_mib": {**rss, "total": sample_total(rss)},
            "pss_mib": {**pss, "total": sample_total(pss)},
            "processes": trees,
            "offered": int(shared[clients.OFFERED]),
            "received": counter_delta(before, now, "civic_mqtt_received"),
            "stored": counter_delta(before, now, "civic_rows_stored"),
            "queue_jobs": rt.redis.llen(queue_key),
            "http": sum(http.statuses.values()),
        }
        samples.append(sample)
        if opts.progress:
            print(
                f"\r{t:6.0f}s  RSS total {sample['rss_mib']['total']} MiB  "
                + " ".join(f"{n} {v}" for n, v in rss.items())
                + f"  stored {sample['stored']:,}  queue {sample['queue_jobs']}  http {sample['http']} ",
                end="",
                file=sys.stderr,
                flush=True,
            )
        if t >= opts.duration:
            break
        k += 1
        time.sleep(max(0.0, start + min(k * opts.interval, opts.duration) - time.monotonic()))
    if opts.progress:
        print("", file=sys.stderr)
    return samples


def _publisher_report(recv, publisher, timeout: float = 60.0) -> dict:
    if not recv.poll(timeout):
        raise BenchError("the publisher did not report within a minute of its end")
    pub = recv.recv()
    if "error" in pub:
        raise BenchError(f"publisher: {pub['error']}")
    publisher.join(5)
    return pub


def _wait_stored(rt, before: dict, quiet_s: float = 3.0, limit_s: float = 60.0) -> None:
    """Until the rows-stored counter has not moved for ``quiet_s`` (the pipeline has drained)."""
    last, since, deadline = -1, time.monotonic(), time.monotonic() + limit_s
    while time.monotonic() < deadline:
        stored = counter_delta(before, counters(rt), "civic_rows_stored")
        if stored != last:
            last, since = stored, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return
        time.sleep(0.5)


def summary_table(r: dict) -> str:
    """Markdown: RSS per process after the warm-up, at the end, peak, drift; the total against the target."""
    s = r["summary"]

    def f(v):
        return "—" if v is None else f"{v:,.1f}"

    lines = [
        "| process (RSS, MiB) | after warm-up | end | max | drift (MiB / 10 min) |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, row in s.items():
        label = f"**{name}**" if name == "total" else name
        cells = [f(row[k]) for k in ("start", "end", "max", "drift_per_10min")]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    total = s.get("total", {})
    peak, drift = total.get("max"), total.get("drift_per_10min")
    within = peak is not None and peak <= r["target_mib"]
    flat = drift is not None and drift <= r["drift_tolerance_mib_per_10min"]
    lines += [
        "",
        f"total peak {f(peak)} MiB against the {r['target_mib']:.0f} MiB target: {'met' if within else 'NOT met'}; "
        f"drift {f(drift)} MiB / 10 min (tolerance {r['drift_tolerance_mib_per_10min']:.0f}): "
        f"{'flat' if flat else 'DRIFTING'}",
        f"PSS (shared pages divided among their processes) total: after warm-up "
        f"{f(r['summary_pss']['total']['start'])}, peak {f(r['summary_pss']['total']['max'])} MiB",
        f"readings published / acked / stored: {r['published']:,} / {r['acked']:,} / {r['stored']:,}; "
        f"lost {r['lost']}, duplicates {r['duplicates']}",
        "HTTP answers: " + (", ".join(f"{k} × {v:,}" for k, v in sorted(r["http"].items())) or "none"),
    ]
    return "\n".join(lines)
