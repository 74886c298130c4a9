"""Graceful shutdown: SIGTERM (what `docker compose stop`, `civic run` and systemd send) loses nothing.

Real processes on services this module starts itself (tests/faults/conftest.py): Mosquitto with the
project's config, a Redis with AOF, PostgreSQL (through a TCP proxy of our own where a job must be slow).

- The bridge, stopped with a batch open, hands the batch to Redis and acknowledges it before it
  disconnects: the readings are stored with no bridge running, and a new bridge gets no redelivery.
- The bridge, stopped while Redis is away, exits at once without acknowledging: the broker delivers
  the batch again, to the next bridge.
- The bridge, stopped in the middle of a sustained load and replaced: every acknowledged reading stored
  exactly once, and nothing handed over twice.
- A worker, stopped in the middle of a job, finishes it (rows committed), exits 0 and leaves the queued
  jobs for the next worker: nothing lost, nothing run twice.
- The web process (with a live event stream open) and the scheduler exit 0 within a few seconds.

Run with `-s` for the figures (docs/reliability.md, "Data lifecycle").
"""

from __future__ import annotations

import http.client
import subprocess
import threading
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
from sqlalchemy import text

from bench.clients import payload
from config.settings import parse_mqtt_url
from config.topics import DeviceKind
from services.cli import WEB_GRACEFUL_TIMEOUT_S
from services.pipeline.metrics import counter_totals
from tests.support.civic_processes import CivicProcesses, current_job, job_status, now
from tests.support.fault_phases import Phase, PhaseResult
from tests.support.load import berth_topic
from tests.support.services import free_port, publish, wait_for
from tests.support.tcp_proxy import TcpProxy
from workers.queueing import INGEST_JOBS, enqueue_batch

EXIT_WITHIN_S = 5.0  # compose and `civic run` allow 10 s before SIGKILL
WEB_EXIT_WITHIN_S = WEB_GRACEFUL_TIMEOUT_S + 3.0  # an open event stream is cut at gunicorn's graceful timeout
PIPELINE_ENV = {"BRIDGE_BATCH_MS": "100", "BRIDGE_SHARED_GROUP": "", "WORKER_MAINTENANCE_INTERVAL": "2"}


def platform(env, fault_broker, runtime, tmp_path, bridge_id: str, **extra) -> CivicProcesses:
    env = env | PIPELINE_ENV | {"MQTT_URL": fault_broker.url("civic-bridge")} | extra
    return CivicProcesses(env, runtime, tmp_path, bridge_id)


def terminate(plat: CivicProcesses, name: str, timeout: float = 30.0) -> tuple[int | None, float]:
    """SIGTERM one process; its exit code and how long it took to exit (None: still running at ``timeout``)."""
    proc = plat.procs[name].proc
    started = now()
    proc.terminate()
    try:
        code = proc.wait(timeout)
    except subprocess.TimeoutExpired:
        code = None
    took = now() - started
    plat.procs[name].stop()  # closes its log (and kills it, had it not exited)
    return code, took


def tail(plat: CivicProcesses, name: str) -> str:
    return plat.procs[name].log_path.read_text(errors="replace")[-3000:]


def stored(runtime, boot: int) -> tuple[int, int]:
    """Rows and distinct identities of one boot in berth_events."""
    with runtime.engine.connect() as conn:
        return tuple(
            conn.execute(
                text("SELECT count(*), count(DISTINCT (device_id, seq)) FROM berth_events WHERE boot = :b"), {"b": boot}
            ).one()
        )


def counter(runtime, name: str) -> int:
    return int(counter_totals(runtime.redis, runtime.keys).get(name, 0))


# -- the bridge ----------------------------------------------------------------------------------------
def test_a_stopped_bridge_hands_its_open_batch_to_redis_and_acknowledges_it(env, fault_broker, runtime, tmp_path):
    boot, count = 201, 300
    # A batch that would close only after a minute: whatever is in Redis soon after SIGTERM, the stop put there.
    plat = platform(
        env, fault_broker, runtime, tmp_path, "graceful-drain", BRIDGE_BATCH_MS="60000", BRIDGE_BATCH_SIZE="100000"
    )
    try:
        plat.start_bridge("bridge-1")
        messages = [(berth_topic(i % 150 + 1), payload(boot, i // 150 + 1, time.time())) for i in range(count)]
        assert publish(fault_broker.url(), messages) == count  # every one PUBACKed by the broker
        time.sleep(1.0)  # delivered to the bridge, which holds them in its open batch
        assert runtime.queue().count == 0 and counter(runtime, "civic_mqtt_received") == 0

        code, took = terminate(plat, "bridge-1")
        print(f"\n[bridge SIGTERM, batch open] exit {code} in {took:.2f}s", flush=True)
        assert code == 0 and took < EXIT_WITHIN_S, tail(plat, "bridge-1")
        jobs = runtime.queue().get_jobs()
        assert sum(len(job.args[0]) for job in jobs) == count  # handed over before it left

        plat.start_worker("worker-1")
        wait_for(lambda: stored(runtime, boot) == (count, count), 20, message="the handed-over batch stored")
        # Acknowledged before it disconnected: the broker has nothing left to redeliver to the same client id.
        plat.env["BRIDGE_BATCH_MS"] = "50"
        plat.start_bridge("bridge-2")
        time.sleep(2.0)
        plat.check_alive()
        assert counter(runtime, "civic_mqtt_received") == count, (
            "the broker redelivered what the bridge had handed over"
        )
        assert stored(runtime, boot) == (count, count)
        assert counter(runtime, "civic_rows_duplicate") == 0
    finally:
        plat.close()


def test_a_bridge_stopped_while_redis_is_away_exits_and_leaves_its_batch_to_the_broker(
    env, fault_broker, runtime, tmp_path, redis_server
):
    boot, count = 204, 150
    plat = platform(
        env, fault_broker, runtime, tmp_path, "graceful-no-redis", BRIDGE_BATCH_MS="60000", BRIDGE_BATCH_SIZE="100000"
    )
    try:
        plat.start_bridge("bridge-1")
        messages = [(berth_topic(i + 1), payload(boot, 1, time.time())) for i in range(count)]
        assert publish(fault_broker.url(), messages) == count
        time.sleep(1.0)
        redis_server.stop()
        code, took = terminate(plat, "bridge-1")
        print(f"\n[bridge SIGTERM, Redis away] exit {code} in {took:.2f}s", flush=True)
        assert code == 0 and took < EXIT_WITHIN_S, tail(plat, "bridge-1")  # it used to retry Redis for ever
        redis_server.start()
        # Never acknowledged, so the broker delivers the batch again, to the next bridge.
        plat.env["BRIDGE_BATCH_MS"] = "50"
        plat.start_worker("worker-1")
        plat.start_bridge("bridge-2")
        wait_for(lambda: stored(runtime, boot) == (count, count), 20, message="the batch stored through bridge-2")
    finally:
        plat.close()


def test_a_bridge_stopped_mid_stream_loses_and_doubles_nothing(env, fault_broker, runtime, tmp_path):
    plat = platform(env, fault_broker, runtime, tmp_path, "graceful-stream")
    stops: list[tuple[int | None, float]] = []

    def stop_bridge(result: PhaseResult) -> None:
        stops.append(terminate(plat, "bridge-1"))
        result.notes.append(f"bridge exit {stops[0][0]} {stops[0][1]:.2f}s after SIGTERM")
        plat.start_bridge("bridge-2")  # as a supervisor would, same client id

    try:
        plat.start_worker("worker-1")
        plat.start_worker("worker-2")
        plat.start_bridge("bridge-1")
        run = Phase(plat, runtime.engine, parse_mqtt_url(fault_broker.url()), rate=1000, pre_s=2, post_s=2)
        result = run.run("bridge SIGTERM", 202, stop_bridge)
    finally:
        plat.close()
    code, took = stops[0]
    assert code == 0 and took < EXIT_WITHIN_S, f"bridge exit {code} after {took:.1f}s"
    assert result.acked > 3000, f"the load did not run: {result}"
    assert (result.lost, result.duplicates) == (0, 0), result
    # What the stopped bridge handed to Redis it had acknowledged: none of it came back through the new one.
    assert result.redeliveries == 0, result


# -- the worker ----------------------------------------------------------------------------------------
@pytest.fixture
def slow_db(env):
    """The platform's PostgreSQL behind a proxy of our own, so a job can be made to take a while."""
    parts = urlsplit(env["DATABASE_URL"])
    with TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432) as proxy:
        yield proxy, parts._replace(netloc=f"127.0.0.1:{proxy.port}").geturl()


def berth_batch(boot: int, first_seq: int, size: int) -> list[dict]:
    at = time.time()
    return [
        {
            "device_id": f"S-P-ZIYANGLI-{n:03d}",
            "boot": boot,
            "seq": first_seq,
            "berth_id": f"P-ZIYANGLI-{n:03d}",
            "facility_id": "P-ZIYANGLI",
            "occupied": n % 2 == 0,
            "observed_at": at,
            "received_at": at,
        }
        for n in range(1, size + 1)
    ]


def test_a_worker_stopped_mid_job_finishes_it_and_leaves_the_rest_queued(env, fault_broker, runtime, tmp_path, slow_db):
    from rq import Worker
    from rq.job import Job
    from rq.registry import FailedJobRegistry, StartedJobRegistry

    proxy, slow_url = slow_db
    boot, jobs, size = 203, 3, 150
    queue = runtime.queue()
    plat = platform(env, fault_broker, runtime, tmp_path, "graceful-worker", DATABASE_URL=slow_url, JOB_TIMEOUT="60")
    try:
        plat.start_worker("worker-1")
        wait_for(lambda: "worker-1" in {w.name for w in Worker.all(connection=runtime.redis)}, 20, message="worker-1")
        proxy.slow(0.05)  # every database answer 50 ms late: a batch takes a second or two
        batches = [berth_batch(boot, k + 1, size) for k in range(jobs)]
        ids = [enqueue_batch(queue, INGEST_JOBS[DeviceKind.PARKING_BERTH], b, time.time()).id for b in batches]
        job = wait_for(lambda: current_job(plat, "worker-1"), 30, interval=0.02, message="worker-1 to start a job")
        assert job_status(plat, job) == "started"
        signalled = datetime.now(UTC)
        code, took = terminate(plat, "worker-1")
        ended = Job.fetch(job, connection=runtime.redis).ended_at
        print(
            f"\n[worker SIGTERM mid-job] its job finished {(ended - signalled).total_seconds():.2f}s after SIGTERM, "
            f"the worker exited ({code}) {took:.2f}s after it (database answers 50 ms late)"
        )
        assert code == 0 and took < 15, tail(plat, "worker-1")
        assert job_status(plat, job) == "finished" and ended > signalled  # in hand at SIGTERM, and finished
        done = ids.index(job) + 1
        assert stored(runtime, boot) == (size * done, size * done)  # its rows committed, nothing half-done
        assert [job_status(plat, i) for i in ids[done:]] == ["queued"] * (jobs - done)  # left for the next one
        assert StartedJobRegistry(queue=queue).count == 0
        assert "worker-1" not in {w.name for w in Worker.all(connection=runtime.redis)}

        proxy.restore()
        plat.start_worker("worker-2")
        wait_for(lambda: stored(runtime, boot) == (size * jobs, size * jobs), 30, message="the queued jobs stored")
        assert counter(runtime, "civic_rows_duplicate") == 0  # the finished job was not run again
        assert FailedJobRegistry(queue=queue).count == 0
    finally:
        proxy.restore()
        plat.close()


# -- web and scheduler ---------------------------------------------------------------------------------
def test_the_web_process_and_the_scheduler_exit_cleanly(env, fault_broker, runtime, tmp_path):
    from rq.cron import CronScheduler

    port = free_port()
    plat = platform(env, fault_broker, runtime, tmp_path, "graceful-web")
    try:
        plat.start("web", "web", "--port", str(port), "--workers", "1", "--threads", "4")
        plat.start("scheduler", "scheduler")
        wait_for(lambda: healthy(port), 30, message="the web process to answer /healthz")
        wait_for(lambda: CronScheduler.all(runtime.redis), 20, message="the scheduler to register")

        stream = EventStream(port)  # a live page's event stream, open while the process stops
        code, took = terminate(plat, "web")
        print(f"\n[web SIGTERM, an event stream open] exit {code} in {took:.2f}s", flush=True)
        assert code == 0 and took < WEB_EXIT_WITHIN_S, tail(plat, "web")
        stream.closed.wait(5)
        assert stream.closed.is_set() and stream.opened, "the event stream was not ended with the process"

        code, took = terminate(plat, "scheduler")
        print(f"[scheduler SIGTERM] exit {code} in {took:.2f}s", flush=True)
        assert code == 0 and took < EXIT_WITHIN_S, tail(plat, "scheduler")
        assert CronScheduler.all(runtime.redis) == []  # deregistered on its way out
    finally:
        plat.close()


def healthy(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    except OSError:
        return False


class EventStream(threading.Thread):
    """GET /api/v1/events/stream and read until the server ends it."""

    def __init__(self, port: int):
        super().__init__(daemon=True)
        self.port, self.opened, self.closed = port, False, threading.Event()
        self.start()
        wait_for(lambda: self.opened, 10, interval=0.05, message="the event stream to open")

    def run(self) -> None:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            conn.request("GET", "/api/v1/events/stream")
            response = conn.getresponse()
            self.opened = response.status == 200
            while response.read1(1024):
                pass
        except (OSError, http.client.HTTPException):
            pass  # cut mid-chunk: ended all the same
        finally:
            self.closed.set()
