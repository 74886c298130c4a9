"""`civic bench api`: an API endpoint's request rate and latency under load, while ingest runs.

One run: the real platform (bridge, workers, `civic web` under gunicorn) against a scratch PostgreSQL
database and a spare Redis database; a paced MQTT publisher keeps ingest at a steady rate; then wrk, from
its own process, loads the endpoint under test and, in the same run and under the same ingest, a trivial
JSON endpoint (`/healthz`) as the denominator. Results: requests/s, latency percentiles, errors, the
readings committed meanwhile, CPU per process and the web server's memory.

Before wrk starts, with ingest running and no other load, a "visibility" phase polls a few berths the
publisher feeds and times publish → visible in the API (see :func:`poll_visibility`).
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from bench import clients, cpu
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
    tool_version,
    wait_ready,
)
from bench.rss import descendants, tree_rss_mib
from bench.stats import summarise
from config.settings import parse_mqtt_url
from workers.ports import free_port, wait_port

# Points spread over the district (WGS-84 bounding box from reference/heping-district.md): every request
# asks about a different place, so no cache of one answer flatters the figure.
NEARBY = "/api/v1/parking/nearby?lat={lat}&lon={lon}&radius={radius}"
BASELINE = "/healthz"
BBOX = (39.100, 117.170, 39.145, 117.225)
BERTH = "/api/v1/parking/berths/{berth_id}"
VISIBILITY_BERTHS = 8  # polled in turn: each is polled every VISIBILITY_BERTHS × VISIBILITY_POLL_S
VISIBILITY_POLL_S = 0.010  # between two requests of the visibility phase, over all its berths

# wrk's Lua hooks: a random point per request for a path with {lat}/{lon}/{radius}; a JSON summary at the end.
WRK_SCRIPT = r"""
local template = os.getenv("BENCH_PATH")
local south, west, north, east = os.getenv("BENCH_BBOX"):match("([%d.]+),([%d.]+),([%d.]+),([%d.]+)")
south, west, north, east = tonumber(south), tonumber(west), tonumber(north), tonumber(east)
local threads = 0
setup = function(thread) threads = threads + 1; thread:set("seed", threads) end
init = function(args) math.randomseed(os.time() * 100 + (seed or 0)) end
request = function()
  local path = template
    :gsub("{lat}", string.format("%.5f", south + math.random() * (north - south)))
    :gsub("{lon}", string.format("%.5f", west + math.random() * (east - west)))
    :gsub("{radius}", tostring(math.random(300, 1500)))
  return wrk.format("GET", path)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\nBENCH_JSON {"requests":%d,"duration_us":%d,"errors":{"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d},"latency_us":{"p50":%d,"p90":%d,"p95":%d,"p99":%d,"max":%d,"mean":%.1f}}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(95), latency:percentile(99),
    latency.max, latency.mean))
end
"""


@dataclass
class Options:
    path: str = NEARBY
    baseline: str = BASELINE
    ingest_rate: float = 2000.0
    duration: float = 30.0
    connections: int = 32
    wrk_threads: int = 2
    web_workers: int = 2
    web_threads: int = 8
    workers: int = 2
    warmup: float = 5.0
    visibility_seconds: float = 10.0  # 0: no visibility phase
    progress: bool = True


def run_wrk(url: str, path: str, opts: Options) -> dict:
    """Load ``path`` for ``opts.duration`` seconds; return wrk's figures (rates, percentiles in ms)."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise BenchError("wrk is not installed (apt-get install wrk)")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    try:
        started = time.monotonic()
        out = subprocess.run(
            [
                wrk,
                "-t",
                str(opts.wrk_threads),
                "-c",
                str(opts.connections),
                "-d",
                f"{opts.duration:.0f}s",
                "--timeout",
                "5s",
                "-s",
                script.name,
                url,
            ],
            env={**os.environ, "BENCH_PATH": path, "BENCH_BBOX": ",".join(map(str, BBOX))},
            capture_output=True,
            text=True,
            timeout=opts.duration + 60,
        )
    finally:
        os.unlink(script.name)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if out.returncode != 0 or line is None:
        raise BenchError(f"wrk failed ({out.returncode}): {out.stderr.strip() or out.stdout[-2000:]}")
    raw = json.loads(line.removeprefix("BENCH_JSON "))
    seconds = raw["duration_us"] / 1e6
    errors = sum(raw["errors"].values())
    return {
        "path": path,
        "requests": raw["requests"],
        "seconds": round(seconds, 2),
        "rate": round(raw["requests"] / seconds, 1) if seconds else None,
        "errors": raw["errors"],
        "error_share": round(errors / raw["requests"], 4) if raw["requests"] else None,
        "latency_ms": {k: round(v / 1000, 2) for k, v in raw["latency_us"].items()},
        "wall_s": round(time.monotonic() - started, 2),
    }


# -- publish → visible in the API ------------------------------------------------------------------
def status_at_epoch(text: str | None) -> float | None:
    """The API's ``status_at`` (ISO 8601 with its UTC offset) in epoch seconds; None stays None."""
    if text is None:
        return None
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:  # would be read as local time: a silent error of hours
        raise ValueError(f"status_at without a UTC offset: {text!r}")
    return moment.timestamp()


def visibility_latencies_ms(polls: Iterable[tuple[float, float | None]]) -> list[float]:
    """One berth's polls in order, each (wall time just before the request was sent, status_at seen), in
    epoch seconds: for each poll that saw status_at move past every value seen before, sent − status_at in
    ms. The reading published at status_at was visible by then, so each figure is an upper bound, too high
    by at most the time between two polls of the berth (strictly, by then or by the server's read a few ms
    later). The first value seen is only the starting point (when it became visible is unknown); a repeated
    or older status_at, or None, adds nothing."""
    latencies, latest = [], None
    for sent, status_at in polls:
        if status_at is None:
            continue
        if latest is not None and status_at > latest:
            latencies.append((sent - status_at) * 1000)
        latest = status_at if latest is None else max(latest, status_at)
    return latencies


def poll_visibility(url: str, berth_ids: list[str], seconds: float) -> dict:
    """Poll the berths' detail endpoint in turn, one request every VISIBILITY_POLL_S over one keep-alive
    connection, for ``seconds``; return publish → visible latencies (ms), polls and errors."""
    address = urlsplit(url)
    conn = http.client.HTTPConnection(address.hostname, address.port, timeout=5)
    polls: dict[str, list[tuple[float, float | None]]] = {b: [] for b in berth_ids}
    requests = errors = 0
    started = time.monotonic()
    next_at = started
    while next_at < started + seconds:
        time.sleep(max(0.0, next_at - time.monotonic()))
        next_at = time.monotonic() + VISIBILITY_POLL_S
        berth = berth_ids[requests % len(berth_ids)]
        requests += 1
        sent = time.time()
        try:
            conn.request("GET", BERTH.format(berth_id=berth))
            response = conn.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException):
            errors += 1
            conn.close()  # the next request opens a new connection
            continue
        if response.status != 200:
            errors += 1
            continue
        polls[berth].append((sent, status_at_epoch(json.loads(body)["status_at"])))
    conn.close()
    elapsed = time.monotonic() - started
    return {
        "berths": berth_ids,
        "seconds": round(elapsed, 2),
        "polls": requests,
        "errors": errors,
        "poll_interval_ms_per_berth": round(elapsed * 1000 * len(berth_ids) / requests, 1) if requests else None,
        "latency_ms": summarise(ms for p in polls.values() for ms in visibility_latencies_ms(p)),
        "note": "publish → visible in GET /api/v1/parking/berths/<id>: each sample is (request sent − status_at) "
        "when a berth's status_at moved; an upper bound, too high by at most poll_interval_ms_per_berth",
    }


def _visibility(opts: Options, url: str, berths: list, log) -> dict:
    """The visibility phase, or why it was skipped."""
    if opts.ingest_rate <= 0:
        return {"skipped": "ingest rate 0: no berth moves"}
    if opts.visibility_seconds <= 0:
        return {"skipped": "visibility seconds 0"}
    step = len(berths) / VISIBILITY_BERTHS  # spread over the publisher's round-robin (all its facilities)
    berth_ids = [berths[int(n * step)].berth_id for n in range(min(VISIBILITY_BERTHS, len(berths)))]
    log(f"visibility: polling {len(berth_ids)} berths for {opts.visibility_seconds:.0f} s")
    result = poll_visibility(url, berth_ids, opts.visibility_seconds)
    log(f"  publish → visible p50 {result['latency_ms']['p50']} ms, p99 {result['latency_ms']['p99']} ms")
    return result


def _cpu_by_process(before: dict, after: dict, groups: Mapping[str, list[int]]) -> dict[str, float]:
    def used(sample: dict, pids: list[int]) -> float:
        return sum(sample[p].cpu for p in pids if p in sample)

    return {name: round(used(after, pids) - used(before, pids), 2) for name, pids in groups.items()}


def _start_ingest(ctx, opts: Options, pub_url: str, topics: tuple[str, ...], boot: int):
    """The paced publisher (berth events round-robin over the district's sensors) for the whole run."""
    total_s = opts.warmup + opts.visibility_seconds + 2 * (opts.duration + 5) + 10
    plan = clients.PublishPlan(parse_mqtt_url(pub_url), topics, boot, opts.ingest_rate, total_s, 4, f"bench-api-{boot}")
    publisher, _shared, go, _recv = start_publisher(ctx, plan)
    go.set()
    return publisher


def run_api(opts: Options, env: Mapping[str, str] | None = None) -> dict:
    env = dict(os.environ if env is None else env)
    settings, rt, redis_version, db, boot, berths, topics = open_scratch_run(env)
    log = (lambda msg: print(msg, file=sys.stderr)) if opts.progress else (lambda _msg: None)

    ctx = multiprocessing.get_context("spawn")
    workdir = Path(tempfile.mkdtemp(prefix=f"civic-bench-api-{boot}-"))
    broker, bridge_url, pub_url = bench_broker(settings, rt)
    procs: list[Proc] = []
    web: Proc | None = None
    publisher = None
    try:
        proc_env = {**env, "MQTT_URL": bridge_url, "CIVIC_DATA_DIR": str(workdir)}
        procs.append(Proc("bridge", ["bridge", "--client-id", f"civic-bench-api-{boot}"], proc_env, workdir))
        for n in range(opts.workers):
            procs.append(Proc(f"worker-{n + 1}", ["worker", "--name", f"bench-api-{boot}-{n + 1}"], proc_env, workdir))
        port = free_port()
        web = Proc(
            "web",
            ["web", "--port", str(port), "--workers", str(opts.web_workers), "--threads", str(opts.web_threads)],
            proc_env,
            workdir,
        )
        wait_ready(rt, procs, opts.workers)
        if not wait_port("127.0.0.1", port, READY_TIMEOUT):
            raise BenchError(f"civic web did not listen within {READY_TIMEOUT:.0f} s:\n{web.output()}")
        url = f"http://127.0.0.1:{port}"
        probe = opts.path.format(lat=39.1244, lon=117.1981, radius=1000)
        with urllib.request.urlopen(url + probe, timeout=10) as response:  # fail early on a wrong path
            sample = json.loads(response.read())
        log(f"bench api run {boot}: web on {url}, ingest {opts.ingest_rate:,.0f}/s")

        if opts.ingest_rate > 0:
            publisher = _start_ingest(ctx, opts, pub_url, topics, boot)
        time.sleep(opts.warmup)
        visibility = _visibility(opts, url, berths, log)

        groups = {
            "web": [web.pid, *descendants(web.pid)],
            "bridge": [procs[0].pid],
            "workers_total": [p.pid for p in procs[1:]],
            "publisher": [publisher.pid] if publisher else [],
        }
        phases = {}
        for name, path in (("endpoint", opts.path), ("baseline", opts.baseline)):
            log(f"wrk: {path} for {opts.duration:.0f} s, {opts.connections} connections")
            before_cpu, before_counts, t0 = cpu.census(), counters(rt), time.monotonic()
            result = run_wrk(url, path, opts)
            after_cpu, after_counts, t1 = cpu.census(), counters(rt), time.monotonic()
            result["ingest_committed_rate"] = round(
                counter_delta(before_counts, after_counts, "civic_rows_stored") / (t1 - t0), 1
            )
            result["cpu_s"] = _cpu_by_process(before_cpu, after_cpu, groups)
            result["web_rss_mib"] = tree_rss_mib(web.pid)[0]
            phases[name] = result
            log(f"  {result['rate']:,.0f} req/s, p99 {result['latency_ms']['p99']} ms")
    finally:
        if publisher is not None and publisher.is_alive():
            publisher.terminate()
        if web is not None:
            web.stop()
        stop_platform(rt, procs)
        if broker is not None:
            broker.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)
        rt.close()

    endpoint, baseline = phases["endpoint"], phases["baseline"]
    return {
        "endpoint": endpoint,
        "baseline": baseline,
        "ratio": round(endpoint["rate"] / baseline["rate"], 3) if baseline["rate"] else None,
        "visibility": visibility,
        "sample_response_items": len(sample) if isinstance(sample, list) else None,
        "options": {k: getattr(opts, k) for k in opts.__dataclass_fields__ if k != "progress"},
        "machine": {
            "cpus": os.cpu_count(),
            "loadavg": [round(x, 2) for x in os.getloadavg()],
            "postgres": db["postgres"],
            "redis": redis_version,
            "wrk": tool_version(["wrk", "-v"]),
        },
    }


def summary_table(r: dict) -> str:
    rows = []
    for name in ("endpoint", "baseline"):
        p = r[name]
        lat = p["latency_ms"]
        rows += [
            (f"{name}: path", p["path"]),
            (f"{name}: requests/s", f"{p['rate']:,.0f} ({p['requests']:,} in {p['seconds']} s)"),
            (
                f"{name}: latency p50 / p90 / p99 / max (ms)",
                f"{lat['p50']} / {lat['p90']} / {lat['p99']} / {lat['max']}",
            ),
            (f"{name}: errors", ", ".join(f"{k} {v}" for k, v in p["errors"].items() if v) or "none"),
            (f"{name}: ingest committed meanwhile (rows/s)", f"{p['ingest_committed_rate']:,.0f}"),
            (
                f"{name}: CPU s (web / bridge / workers / publisher)",
                " / ".join(str(p["cpu_s"][k]) for k in ("web", "bridge", "workers_total", "publisher")),
            ),
            (f"{name}: web RSS (MiB, all gunicorn processes)", str(p["web_rss_mib"])),
        ]
    rows.append(("endpoint / baseline", f"{r['ratio']:.2f}" if r["ratio"] else "—"))
    rows += _visibility_rows(r["visibility"])
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def _visibility_rows(v: dict) -> list[tuple[str, str]]:
    if "skipped" in v:
        return [("publish → visible in API", f"skipped ({v['skipped']})")]
    lat = v["latency_ms"]
    return [
        (
            "publish → visible in API p50 / p95 / p99 / max (ms)",
            f"{lat['p50']} / {lat['p95']} / {lat['p99']} / {lat['max']} (upper bounds, {lat['count']} samples)",
        ),
        (
            "visibility: polls / errors / interval per berth",
            f"{v['polls']:,} / {v['errors']} / {v['poll_interval_ms_per_berth']} ms ({len(v['berths'])} berths)",
        ),
    ]
