"""Faults during a sustained ingest of 2,000 readings/s: every acknowledged reading stored exactly once.

Real processes on services the module starts itself: Mosquitto with the project's config (spare port),
a Redis with AOF (spare port), and the machine's PostgreSQL reached through a TCP proxy of our own, so
"PostgreSQL unreachable" is the proxy cutting every connection; the machine's services are never touched.
Each fault gets a load of its own (a boot of its own) from a paced QoS 1 publisher that rides out broker
restarts (tests/support/load.py); the figures are per fault (tests/support/fault_phases.py):

- test_each_fault_under_sustained_load_loses_and_doubles_nothing: SIGKILL a worker mid-batch; SIGKILL
  the bridge; restart Redis (SIGTERM: its AOF is flushed; down 3 s); restart the broker (SIGTERM: it
  saves its sessions and queues; down 3 s). No process but the killed one may exit. One bridge, plain subscription.
- test_the_broker_keeps_a_plain_subscription_across_a_restart_but_not_a_shared_one: why. With the bridge
  in a shared group, a broker restart loses what is published before the bridge subscribes again.
- test_backpressure_when_the_database_is_slow_or_down: with BRIDGE_MAX_BACKLOG=40 jobs, a slow database
  (every answer delayed) and then an unreachable one for 20 s. The backlog in Redis stops at the bound,
  the bridge stops taking messages (the broker holds them), /metrics and /readyz say so, nothing crashes
  and nothing is lost.

Run with `-s` for the timeline and the figures (docs/reliability.md).
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest
from sqlalchemy import create_engine

from config.settings import Settings, parse_mqtt_url
from services.pipeline.metrics import counter_totals
from tests.support.civic_processes import CivicProcesses, job_status, kill_mid_job
from tests.support.fault_phases import Phase, PhaseResult
from tests.support.tcp_proxy import TcpProxy

RATE = 2000
BRIDGE_ID = "sustained-bridge"
BACKPRESSURE_BOUND = 40  # jobs of ~200 readings (100 ms batches at 2,000/s): ~4 s of load
DB_OUTAGE_S = 20
DOWN_S = 3  # Redis and the broker stay down this long when restarted
# A killed worker's batch is re-run JOB_TIMEOUT + 10 s after it started, at the next maintenance pass.
PIPELINE_ENV = {"BRIDGE_BATCH_MS": "100", "JOB_TIMEOUT": "10", "WORKER_MAINTENANCE_INTERVAL": "2"}
RESULTS: list[PhaseResult] = []


@pytest.fixture(scope="module")
def db_proxy(postgres_url):
    parts = urlsplit(postgres_url)
    with TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432) as proxy:
        yield proxy


@pytest.fixture
def env(env, db_proxy):
    """tests/faults/conftest.py's environment, with the platform's PostgreSQL behind the proxy."""
    parts = urlsplit(env["DATABASE_URL"])
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@127.0.0.1:{db_proxy.port}" if userinfo else f"127.0.0.1:{db_proxy.port}"
    return env | {"DATABASE_URL": parts._replace(netloc=netloc).geturl()}


@pytest.fixture
def direct_engine(postgres_url):
    """The test's own view of the table, never through the proxy."""
    engine = create_engine(Settings.from_env({"DATABASE_URL": postgres_url}).database_url)
    yield engine
    engine.dispose()


def platform(env, fault_broker, runtime, tmp_path, **extra) -> CivicProcesses:
    env = env | PIPELINE_ENV | {"MQTT_URL": fault_broker.url("civic-bridge")} | extra
    return CivicProcesses(env, runtime, tmp_path, BRIDGE_ID)


@pytest.fixture
def procs(env, fault_broker, runtime, tmp_path):
    """One bridge on a plain subscription: Mosquitto 2.0.11 restores it with the session (see below)."""
    plat = platform(env, fault_broker, runtime, tmp_path, BRIDGE_SHARED_GROUP="")
    yield plat
    plat.close()


@pytest.fixture
def bounded_procs(env, fault_broker, runtime, tmp_path, db_proxy):
    plat = platform(env, fault_broker, runtime, tmp_path, BRIDGE_MAX_BACKLOG=str(BACKPRESSURE_BOUND))
    yield plat
    db_proxy.restore()
    plat.close()


def phase(plat: CivicProcesses, engine, broker) -> Phase:
    return Phase(plat, engine, parse_mqtt_url(broker.url("civic-simulator")), RATE)


def assert_exactly_once(result: PhaseResult) -> None:
    RESULTS.append(result)
    assert result.acked > 0.9 * RATE * 10, f"the load did not run: {result}"
    assert (result.lost, result.duplicates) == (0, 0), result
    assert result.stored >= result.acked


# -- item 1: process and service faults ----------------------------------------------------------------
def test_each_fault_under_sustained_load_loses_and_doubles_nothing(procs, direct_engine, fault_broker, redis_server):
    plat = procs
    plat.start_all()
    run = phase(plat, direct_engine, fault_broker)
    killed: dict = {"worker": "worker-1"}

    def kill_worker(result: PhaseResult) -> None:
        for attempt in range(1, 4):
            job, status = kill_mid_job(plat, killed["worker"])
            print(f"  SIGKILL {killed['worker']} in job {job}: its status then {status}", flush=True)
            killed["worker"] = f"worker-1-{attempt}"  # restarted at once, as a supervisor would
            plat.start_worker(killed["worker"])
            if status == "started":
                break
        assert status == "started", "could not kill a worker in the middle of a job"
        killed["job"] = job

    def kill_bridge(result: PhaseResult) -> None:
        plat.kill("bridge-1" if "bridge-2" not in plat.procs else "bridge-2")
        time.sleep(1.0)  # down a moment; the broker keeps the session and everything unacked
        plat.start_bridge("bridge-2")

    def restart_redis(result: PhaseResult) -> None:
        redis_server.stop()  # SIGTERM: Redis writes its AOF out and exits
        time.sleep(DOWN_S)
        redis_server.start()

    result = run.run("worker SIGKILL mid-batch", 101, kill_worker)
    status = job_status(plat, killed["job"])
    result.notes.append(f"the killed job re-run: {status or 'finished, result expired'}")
    assert status in ("finished", None), f"the killed worker's job is {status}"  # None: gone after RESULT_TTL
    assert_exactly_once(result)
    for name, boot, inject in (
        ("bridge SIGKILL", 102, kill_bridge),
        ("Redis restart", 103, restart_redis),
        ("broker restart", 104, restart_broker(fault_broker)),
    ):
        assert_exactly_once(run.run(name, boot, inject))
    print_table()


def restart_broker(broker):
    def inject(_result: PhaseResult) -> None:
        broker.stop()  # SIGTERM: Mosquitto saves sessions and queued messages
        time.sleep(DOWN_S)
        broker.start()

    return inject


def delivered_after_restart(broker, subscription: str, count: int = 10) -> int:
    """Subscribe with a persistent session, go offline, restart the broker, publish ``count``, come back:
    how many arrive."""
    import paho.mqtt.client as mqtt

    from tests.support.load import berth_topic

    got: list[bytes] = []

    def client(user: str, client_id: str, clean: bool):
        target = parse_mqtt_url(broker.url(user))
        c = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean, protocol=mqtt.MQTTv311
        )
        c.username_pw_set(target.username, target.password)
        c.on_message = lambda _c, _u, msg: got.append(msg.payload)
        c.connect(target.host, target.port)
        c.loop_start()
        return c

    sub_id = f"restore-probe-{len(subscription)}"
    sub = client("civic-bridge", sub_id, clean=False)
    sub.subscribe(subscription, 1)
    time.sleep(0.5)
    sub.disconnect()
    sub.loop_stop()
    broker.stop()
    broker.start()
    pub = client("civic-simulator", "restore-probe-pub", clean=True)
    for info in [pub.publish(berth_topic(1), b"probe", qos=1) for _ in range(count)]:
        info.wait_for_publish(5)
    pub.disconnect()
    pub.loop_stop()
    sub = client("civic-bridge", sub_id, clean=False)
    time.sleep(1.5)
    sub.disconnect()
    sub.loop_stop()
    return len(got)


def test_the_broker_keeps_a_plain_subscription_across_a_restart_but_not_a_shared_one(fault_broker):
    """Why the faults above run the bridge on a plain subscription: Mosquitto 2.0.11 restores a persistent
    session's plain subscription from its persistence file, not a `$share/` one. With a shared group,
    what devices publish between the broker's restart and the bridge's new SUBSCRIBE is acknowledged to
    them and dropped (seen: 2,016 readings lost in one run; none in another, when the bridge was back first)."""
    assert delivered_after_restart(fault_broker, "heping/#") == 10
    shared = delivered_after_restart(fault_broker, "$share/ingest/heping/#")
    print(f"\n[broker restart] plain subscription: 10 of 10 delivered; shared subscription: {shared} of 10")
    assert shared == 0, "Mosquitto now restores shared subscriptions: update docs/reliability.md and this test"


# -- item 2 and the database fault: backpressure -------------------------------------------------------
def readiness(settings_env: dict) -> tuple[int, dict, str]:
    from services.app import create_app

    client = create_app(Settings.from_env(settings_env)).test_client()
    ready = client.get("/readyz")
    return ready.status_code, ready.json, client.get("/metrics").get_data(as_text=True)


def gauge(metrics: str, name: str) -> float:
    line = next(line for line in metrics.splitlines() if line.startswith(name + " "))
    return float(line.split()[1])


def test_backpressure_when_the_database_is_slow_or_down(bounded_procs, direct_engine, fault_broker, db_proxy):
    plat = bounded_procs
    plat.start_all()
    run = phase(plat, direct_engine, fault_broker)
    web_env = plat.env

    def hold_and_check(result: PhaseResult, during_s: float, down: list[str]) -> None:
        """Wait for the bound; then, for ``during_s``, the backlog stays there and the bridge takes (almost)
        nothing: only what the workers free, none while the database is down; the broker acks on."""
        deadline = time.monotonic() + 30
        while (jobs := run_jobs()) < BACKPRESSURE_BOUND:
            assert time.monotonic() < deadline, f"the backlog never reached the bound: {jobs} jobs"
            time.sleep(0.2)
        reached = time.monotonic()
        time.sleep(1.0)  # the batch in hand when the bound was reached
        received = counter_totals(plat.rt.redis, plat.rt.keys)["civic_mqtt_received"]
        code, body, metrics = readiness(web_env)
        peak_jobs = jobs
        while time.monotonic() < reached + during_s:
            plat.check_alive()
            peak_jobs = max(peak_jobs, run_jobs())
            time.sleep(0.25)
        held = counter_totals(plat.rt.redis, plat.rt.keys)["civic_mqtt_received"] - received
        print(
            f"  bound reached; /readyz {code} {body['status']} down={body['down']} "
            f"backpressure={body['backpressure']}; "
            f"civic_backpressure {gauge(metrics, 'civic_backpressure')}; bridge took {held:.0f} messages in "
            f"{during_s - 1:.0f}s; peak {peak_jobs} jobs",
            flush=True,
        )
        assert body["backpressure"]["active"] and body["down"] == down
        assert (code, body["status"]) == ((200, "backpressure") if not down else (503, "unavailable"))
        assert gauge(metrics, "civic_backpressure") == 1.0
        assert gauge(metrics, "civic_ingest_backlog_jobs") >= BACKPRESSURE_BOUND - 2  # slow workers free a slot or two
        assert gauge(metrics, "civic_ingest_backlog_limit") == BACKPRESSURE_BOUND
        # One batch may be on its way past the check when the bound is reached, nothing more.
        assert peak_jobs <= BACKPRESSURE_BOUND + 2, f"{peak_jobs} jobs: the bound did not hold"
        window = during_s - 1
        limit = 2 * RATE * 0.1 if down else 0.5 * RATE * window  # two batches / what slow workers free
        assert held <= limit, f"the bridge took {held} messages in {window}s while at its bound"
        result.notes.append(f"/readyz {code} {body['status']}, bridge took {held:.0f} while held")

    def run_jobs() -> int:
        from workers.queueing import backlog_jobs

        return backlog_jobs(plat.rt.queue())

    def slow_database(result: PhaseResult) -> None:
        db_proxy.slow(0.3)
        hold_and_check(result, 8, down=[])
        db_proxy.restore()

    def database_unreachable(result: PhaseResult) -> None:
        db_proxy.cut()
        cut_at = time.monotonic()
        hold_and_check(result, 8, down=["database"])
        time.sleep(max(0.0, cut_at + DB_OUTAGE_S - time.monotonic()))
        db_proxy.restore()
        result.notes.append(f"connections refused while cut: {db_proxy.refused}")

    for name, boot, inject in (
        ("PostgreSQL slow (0.3 s per answer)", 105, slow_database),
        (f"PostgreSQL unreachable {DB_OUTAGE_S} s", 106, database_unreachable),
    ):
        assert_exactly_once(run.run(name, boot, inject))
    from rq.registry import FailedJobRegistry

    assert FailedJobRegistry(queue=plat.rt.queue()).count == 0, "a batch exhausted its retries"
    print_table()


def print_table() -> None:
    print(
        "\n| fault | readings acked | stored | lost | duplicates | moving again s | caught up s | drained s "
        "| peak backlog |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in RESULTS:
        print(r.row())
    for r in RESULTS:
        print(f"  {r.fault}: redeliveries absorbed {r.redeliveries}, peak {r.peak_jobs} jobs; {'; '.join(r.notes)}")
