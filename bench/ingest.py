"""`civic bench ingest`: readings/s the real pipeline commits to PostgreSQL against a paced offered rate.

One run, in this order:

1. checks that DATABASE_URL and REDIS_URL were given and look like scratch stores (no readings from real
   devices, no RQ worker or queued job in that Redis database), migrates and seeds the district;
2. uses MQTT_URL, or starts a Mosquitto from config/mosquitto/mosquitto.conf on a free port;
3. measures the denominator: one Python paho subscriber receiving a flood of messages as fast as it can;
4. starts `civic bridge` (or several, with ``--bridges``) and N `civic worker` as subprocesses, as a
   deployment runs them;
5. starts the paced publisher in its own process (round-robin over the district's berth sensors, boot =
   this run's id) and, while it publishes, polls the database for this run's rows;
6. waits for the pipeline to drain, stops the processes, counts lost and duplicate identities.

Everything this run stores carries boot = the run id (start time in epoch seconds, larger than any boot
a real sensor counts to), so a run's rows are told apart from every other run's.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from array import array
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench import clients, cpu
from bench.broker import BRIDGE_USER, PUBLISHER_USER, RAW_TOPIC_ROOT, RAW_USER, BenchBroker
from bench.platform import (
    EARLIEST_BENCH_BOOT,
    BenchError,
    Proc,
    bridge_client_ids,
    counter_delta,
    counters,
    forget_bridge_session,
    open_scratch_run,
    start_publisher,
    stop_platform,
    tool_version,
    wait_ready,
)
from bench.stats import GapTracker, index_of, rate, summarise, tally
from config.settings import parse_mqtt_url
from config.topics import Queues
from services.pipeline.metrics import field

CPU_ROWS = (
    "bridge",
    "workers_total",
    "publisher",
    "mosquitto",
    "redis_server",
    "postgres_backends",
    "postgres_other",
    "kernel_threads",
    "other_processes",
    "unattributed",
)


@dataclass
class Options:
    rate: float
    duration: float
    workers: int = 2
    bridges: int = 1  # N > 1: N `civic bridge` processes in one shared-subscription group
    connections: int = 4
    raw_messages: int = 100_000
    poll_ms: int = 50
    drain_timeout: float = 60.0  # after the last publish, the longest we wait for the pipeline to drain
    settle_s: float = 10.0  # ...or stop early once no new row arrived for this long (only when rows are missing)
    keep_logs: bool = False
    progress: bool = True


# -- the denominator --------------------------------------------------------------------------------
def raw_subscriber_rate(ctx, pub_url: str, sub_url: str, messages: int, progress: bool) -> dict:
    """One Python subscriber's receive rate from this broker: messages / (last received - first received)."""
    topic = f"{RAW_TOPIC_ROOT}/raw"
    ready = ctx.Event()
    recv, send = ctx.Pipe(duplex=False)
    sub = ctx.Process(
        target=clients.raw_subscriber_main, args=(parse_mqtt_url(sub_url), topic, messages, ready, send), daemon=True
    )
    sub.start()
    if not ready.wait(30):
        sub.terminate()
        raise BenchError("raw subscriber did not subscribe within 30 s")
    line = clients.payload(EARLIEST_BENCH_BOOT, 1, time.time()) + b"\n"
    binary = shutil.which("mosquitto_pub")
    flood = None
    if binary:
        flood = clients.flood_with_mosquitto_pub(binary, parse_mqtt_url(pub_url), topic, line * messages)
        publisher = "mosquitto_pub -q 1 -l -M 1000"
    else:  # no mosquitto-clients: flood with our own publisher, unpaced
        go = ctx.Event()
        go.set()
        plan = clients.PublishPlan(parse_mqtt_url(pub_url), (topic,), EARLIEST_BENCH_BOOT, 1e7, messages / 1e7, 1)
        shared = ctx.Array("d", clients.SLOTS, lock=False)
        _, pub_send = ctx.Pipe(duplex=False)
        flood_proc = ctx.Process(target=clients.publisher_main, args=(plan, shared, go, pub_send), daemon=True)
        flood_proc.start()
        publisher = "paho (bench publisher, unpaced)"
    if progress:
        print(f"raw subscriber: flooding {messages:,} messages ({publisher})", file=sys.stderr)
    deadline = time.monotonic() + 30 + messages / 2000
    result = None
    while time.monotonic() < deadline:
        if recv.poll(0.5):
            result = recv.recv()
            break
    sub.join(5)
    if flood is not None:
        with contextlib.suppress(OSError):
            flood.stdin.close()
        try:
            flood.wait(10)
        except subprocess.TimeoutExpired:
            flood.terminate()
            flood.wait(5)
    elif flood_proc.is_alive():
        flood_proc.terminate()
    if result is None:
        return {"messages": messages, "received": None, "rate": None, "error": "no result from the raw subscriber"}
    seconds = result["last"] - result["first"]
    return {
        "messages": messages,
        "received": result["count"],
        "seconds": round(seconds, 3),
        "rate": rate(result["count"], seconds),
        "redelivered": result["dup"],
        "subscriber_cpu_s": result["cpu_s"],
        "publisher": publisher,
        "error": result["refused"] or None,
    }


# -- the run ----------------------------------------------------------------------------------------
def run_ingest(opts: Options, env: Mapping[str, str] | None = None) -> dict:
    from sqlalchemy import text

    env = dict(os.environ if env is None else env)
    if opts.bridges > 1 and env.get("BRIDGE_SHARED_GROUP") == "":
        raise BenchError("--bridges > 1 needs a shared subscription: BRIDGE_SHARED_GROUP is empty")
    settings, rt, redis_version, db, boot, berths, topics = open_scratch_run(env)
    device_index = {d.id: n for n, d in enumerate(berths)}

    ctx = multiprocessing.get_context("spawn")
    workdir = Path(tempfile.mkdtemp(prefix=f"civic-bench-{boot}-"))
    broker: BenchBroker | None = None
    procs: list[Proc] = []
    publisher = None
    log = (lambda msg: print(msg, file=sys.stderr)) if opts.progress else (lambda _msg: None)
    try:
        if settings.mqtt_url:
            bridge_url = pub_url = raw_url = settings.mqtt_url
            broker_desc = "MQTT_URL (external)"
        else:
            broker = BenchBroker(rt.topics).start()
            bridge_url, pub_url, raw_url = broker.url(BRIDGE_USER), broker.url(PUBLISHER_USER), broker.url(RAW_USER)
            broker_desc = f"bench Mosquitto on 127.0.0.1:{broker.port} ({workdir} for logs; config from the project)"
        log(f"bench run {boot}: broker {broker_desc}")

        raw = {"messages": 0, "rate": None}
        if opts.raw_messages > 0:
            raw = raw_subscriber_rate(ctx, raw_url, raw_url, opts.raw_messages, opts.progress)
            log(f"raw subscriber: {raw.get('received')} received, {raw.get('rate')} msg/s")

        proc_env = {**env, "MQTT_URL": bridge_url, "CIVIC_DATA_DIR": str(workdir)}
        client_ids = bridge_client_ids(opts.bridges)
        for n, client_id in enumerate(client_ids, 1):
            name = "bridge" if opts.bridges == 1 else f"bridge-{n}"
            procs.append(Proc(name, ["bridge", "--client-id", client_id], proc_env, workdir))
        for n in range(opts.workers):
            procs.append(Proc(f"worker-{n + 1}", ["worker", "--name", f"bench-{boot}-{n + 1}"], proc_env, workdir))
        wait_ready(rt, procs, opts.workers)

        plan = clients.PublishPlan(
            parse_mqtt_url(pub_url), topics, boot, opts.rate, opts.duration, opts.connections, f"civic-bench-{boot}"
        )
        publisher, shared, go, recv = start_publisher(ctx, plan)

        with rt.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as poll_conn:
            # The poll must stay cheap however large the table: by id range on the primary key, never with
            # parallel workers (forked per query: at 20 polls/s on a big, unanalysed table they cost half a
            # core) nor JIT. Fresh statistics make the planner see how few rows lie above the highest id.
            poll_conn.exec_driver_sql("ANALYZE berth_events")
            for setting in ("enable_seqscan = off", "max_parallel_workers_per_gather = 0", "jit = off"):
                poll_conn.exec_driver_sql(f"SET {setting}")
            start_id = poll_conn.execute(text("SELECT coalesce(max(id), 0) FROM berth_events")).scalar()
            rows_before = poll_conn.execute(text("SELECT count(*) FROM berth_events")).scalar()
            ours = {p.pid: p.name for p in procs} | {os.getpid(): "bench_monitor"}
            if broker is not None:
                ours[broker.proc.pid] = "mosquitto"
            before = _cpu_snapshot()
            counters_before = counters(rt)
            load_start = os.getloadavg()
            go.set()
            monitor = _monitor(opts, rt, poll_conn, start_id, boot, shared, recv, publisher, procs)
            after = _cpu_snapshot()
        load_end = os.getloadavg()
        counters_after = counters(rt)
        stop_platform(rt, procs)
        with rt.engine.connect() as conn:
            stored_rows = conn.execute(
                text("SELECT device_id, seq FROM berth_events WHERE boot = :b"), {"b": boot}
            ).all()
    finally:
        if publisher is not None and publisher.is_alive():
            publisher.terminate()
        stop_platform(rt, procs)
        if broker is not None:
            broker.cleanup(keep=opts.keep_logs)
        if settings.mqtt_url:
            for client_id in bridge_client_ids(opts.bridges):
                forget_bridge_session(settings.mqtt_url, client_id)
        if not opts.keep_logs:
            shutil.rmtree(workdir, ignore_errors=True)
        rt.close()

    pub = monitor["publisher"]
    devices = len(berths)
    counts = tally(
        pub["published"],
        pub["acked"],
        (index_of(device_index[d], s, devices) if d in device_index and s >= 1 else None for d, s in stored_rows),
    )
    latency = summarise(monitor["latency_ms"])
    publish_s = pub["end_wall"] - pub["start_wall"]
    commit_s = (monitor["last_stored_wall"] or pub["start_wall"]) - pub["start_wall"]
    offered = rate(pub["published"], publish_s)
    committed = rate(counts.stored, commit_s)
    cpu_window = after["wall"] - before["wall"]
    machine = {}
    if before["machine"] and after["machine"]:
        machine = {k: round(after["machine"][k] - before["machine"][k], 2) for k in after["machine"]}
    cpu_s = cpu.attribute(
        before["procs"],
        after["procs"],
        ours,
        db["dbname"],
        machine.get("busy"),
        extra={"publisher": pub["cpu_s"]},  # its own figure: publishing and draining
        ignore=frozenset({publisher.pid}),
    )
    cpu_s["workers"] = [cpu_s.pop(f"worker-{n + 1}", 0.0) for n in range(opts.workers)]
    cpu_s["workers_total"] = round(sum(cpu_s["workers"]), 2)
    if opts.bridges > 1:
        cpu_s["bridges"] = [cpu_s.pop(f"bridge-{n + 1}", 0.0) for n in range(opts.bridges)]
        cpu_s["bridge"] = round(sum(cpu_s["bridges"]), 2)
    cpu_s["machine_busy"] = machine.get("busy")
    cpu_s["softirq"] = machine.get("softirq")
    cpu_s["steal"] = machine.get("steal")
    batches = counter_delta(counters_before, counters_after, "civic_batches_enqueued")
    received = counter_delta(counters_before, counters_after, "civic_mqtt_received")
    result = {
        "offered_rate": offered,
        "committed_rate": committed,
        "lost": counts.lost,
        "duplicates": counts.duplicates,
        "p50_ms": latency["p50"],
        "p95_ms": latency["p95"],
        "p99_ms": latency["p99"],
        "raw_subscriber_rate": raw.get("rate"),
        "ratio": round(committed / raw["rate"], 3) if committed and raw.get("rate") else None,
        "requested_rate": opts.rate,
        "duration_s": opts.duration,
        "workers": opts.workers,
        "bridges": opts.bridges,
        "publisher_connections": opts.connections,
        "run_boot": boot,
        "berth_events_rows_before": rows_before,
        "published": counts.published,
        "acked": counts.acked,
        "stored": counts.stored,
        "stored_unacked": counts.stored_unacked,
        "unacked_missing": counts.unacked_missing,
        "foreign_rows": counts.foreign,
        "publish_seconds": round(publish_s, 3),
        "commit_seconds": round(commit_s, 3),
        "stored_at_publish_end": monitor["at_publish_end"]["stored"],
        "acked_at_publish_end": monitor["at_publish_end"]["acked"],
        "backlog_at_publish_end": monitor["at_publish_end"]["acked"] - monitor["at_publish_end"]["stored"],
        "drain_seconds": round(commit_s - publish_s, 3),
        "max_backlog": monitor["max_backlog"],
        "peak_queue_jobs": monitor["peak_queue"],
        "latency_ms": latency,
        "latency_untimed_rows": counts.stored - latency["count"],
        "poll_ms": opts.poll_ms,
        "abandoned_id_gaps": monitor["abandoned"],
        "bridge": {
            "received": received,
            "rejected": counter_delta(counters_before, counters_after, "civic_mqtt_rejected"),
            "batches": batches,
            "mean_batch": round(received / batches, 1) if batches else None,
            "duplicates_absorbed": counter_delta(counters_before, counters_after, "civic_rows_duplicate"),
            "received_per_bridge": {
                c: int(counters_after.get(f, 0) - counters_before.get(f, 0))
                for c in bridge_client_ids(opts.bridges)
                for f in [field("civic_bridge_received", bridge=c)]
            },
        },
        "publisher": {k: pub[k] for k in ("lag_max_ms", "late_10ms", "mid_clash", "refused", "connections")},
        "cpu_s": cpu_s,
        "cpu_window_s": round(cpu_window, 2),
        "raw": raw,
        "machine": {
            "cpus": os.cpu_count(),
            "loadavg_before": [round(x, 2) for x in load_start],
            "loadavg_after": [round(x, 2) for x in load_end],
            "python": platform.python_version(),
            "postgres": db["postgres"],
            "redis": redis_version,
            "mosquitto": tool_version([broker.binary, "-h"]) if broker else "external",
            "broker": "bench Mosquitto (project config)" if broker else "MQTT_URL",
        },
        "settings": {
            "BRIDGE_BATCH_SIZE": settings.bridge_batch_size,
            "BRIDGE_BATCH_MS": settings.bridge_batch_ms,
        },
        "started_at": datetime.fromtimestamp(pub["start_wall"], UTC).isoformat(timespec="seconds"),
        "timeline": monitor["timeline"],
    }
    if opts.keep_logs:
        result["logs"] = str(workdir)
    return result


def _cpu_snapshot() -> dict:
    return {"wall": time.monotonic(), "procs": cpu.census(), "machine": cpu.machine_times()}


def _monitor(opts: Options, rt, conn, start_id: int, boot: int, shared, recv, publisher, procs) -> dict:
    """Poll the database for this run's rows until the pipeline has drained; show progress each second."""
    tick = opts.poll_ms / 1000
    gaps = GapTracker(high=start_id)
    latency = array("d")
    queue_key = rt.queue(Queues.INGEST).key
    seen = peak_queue = max_backlog = 0
    last_new = time.monotonic()
    last_stored_wall = None
    timeline: list[dict] = []
    at_end = None
    pub = None
    next_line = time.monotonic()
    publish_end_mono = None
    while True:
        loop_start = time.monotonic()
        polled_at = time.time()  # a row seen by this query was committed before this instant
        clauses = ["id > %(high)s"]
        params = {"boot": boot, "high": gaps.high}
        for n, (lo, hi) in enumerate(gaps.ranges()):
            clauses.append(f"id BETWEEN %(lo{n})s AND %(hi{n})s")
            params[f"lo{n}"], params[f"hi{n}"] = lo, hi
        rows = conn.exec_driver_sql(
            "SELECT id, extract(epoch FROM observed_at)::float8 FROM berth_events "
            f"WHERE boot = %(boot)s AND ({' OR '.join(clauses)})",
            params,
        ).all()
        if rows:
            new = gaps.observe((r[0] for r in rows), polled_at)
            seen += new
            latency.extend((polled_at - r[1]) * 1000 for r in rows)
            last_new, last_stored_wall = time.monotonic(), polled_at
        gaps.expire(polled_at)
        peak_queue = max(peak_queue, rt.redis.llen(queue_key))
        offered, acked = int(shared[clients.OFFERED]), int(shared[clients.ACKED])
        max_backlog = max(max_backlog, offered - seen)

        if pub is None and recv.poll():
            pub = recv.recv()
            if "error" in pub:
                raise BenchError(f"publisher: {pub['error']}")
        if pub is None and not publisher.is_alive() and not recv.poll():
            raise BenchError("the publisher exited without a report")
        for p in procs:
            if not p.alive():
                raise BenchError(f"{p.name} exited during the run:\n{p.output()}")
        if at_end is None and shared[clients.PHASE] >= clients.DRAINING:
            at_end = {"stored": seen, "acked": acked, "offered": offered}
            publish_end_mono = time.monotonic()

        now = time.monotonic()
        if now >= next_line:
            elapsed = time.time() - shared[clients.START]
            queued = rt.redis.llen(queue_key)
            timeline.append(
                {"t": round(elapsed, 1), "offered": offered, "acked": acked, "stored": seen, "queue_jobs": queued}
            )
            if opts.progress:
                print(
                    f"\r{elapsed:6.1f}s  offered {offered:>9,}  acked {acked:>9,}  stored {seen:>9,}  "
                    f"backlog {offered - seen:>7,}  queue {queued:>3} jobs ",
                    end="",
                    file=sys.stderr,
                    flush=True,
                )
            next_line += 1.0
        if pub is not None:
            if seen >= pub["published"]:
                break
            quiet = now - last_new
            if (seen >= pub["acked_count"] and quiet > 1.0) or quiet > opts.settle_s:
                break
            if publish_end_mono is not None and now - publish_end_mono > opts.drain_timeout:
                break
        time.sleep(max(0.0, tick - (time.monotonic() - loop_start)))
    if opts.progress:
        print("", file=sys.stderr)
    return {
        "publisher": pub,
        "latency_ms": latency,
        "last_stored_wall": last_stored_wall,
        "at_publish_end": at_end or {"stored": seen, "acked": 0, "offered": 0},
        "peak_queue": peak_queue,
        "max_backlog": max_backlog,
        "timeline": timeline,
        "abandoned": gaps.abandoned,
    }


# -- output -----------------------------------------------------------------------------------------
def summary_table(r: dict) -> str:
    def f(v, fmt="{:,.0f}"):
        return "—" if v is None else fmt.format(v)

    cpu = r["cpu_s"]
    window = r["cpu_window_s"] or 1
    rows = [
        ("offered rate (msg/s)", f"{f(r['offered_rate'])} (requested {f(r['requested_rate'])})"),
        ("committed rate (rows/s)", f(r["committed_rate"])),
        ("raw subscriber rate (msg/s)", f(r["raw_subscriber_rate"])),
        ("committed / raw", f(r["ratio"], "{:.2f}")),
        ("published / acked / stored", f"{r['published']:,} / {r['acked']:,} / {r['stored']:,}"),
        ("lost / duplicates", f"{r['lost']} / {r['duplicates']}"),
        ("stored when publishing ended", f"{r['stored_at_publish_end']:,} of {r['acked_at_publish_end']:,} acked"),
        ("drain after last publish (s)", f(r["drain_seconds"], "{:.2f}")),
        ("latency p50 / p95 / p99 (ms)", f"{f(r['p50_ms'])} / {f(r['p95_ms'])} / {f(r['p99_ms'])}"),
        ("peak queue (jobs)", f(r["peak_queue_jobs"])),
        ("mean batch (readings)", f(r["bridge"]["mean_batch"])),
    ]
    for name in CPU_ROWS:
        v = cpu.get(name)
        rows.append((f"CPU {name} (s, % of one core)", "—" if v is None else f"{v:.1f} ({100 * v / window:.0f} %)"))
    if cpu.get("other_top"):
        rows.append(("other processes, top", ", ".join(f"{c} {s:.1f}" for c, s in cpu["other_top"][:3])))
    capacity = window * r["machine"]["cpus"]
    rows.append(("CPU machine busy (s / available)", f"{f(cpu['machine_busy'], '{:.1f}')} / {capacity:.1f}"))
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)
