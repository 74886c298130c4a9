"""What every bench shares: the platform's processes, scratch-store checks, start-up and orderly stop.

Each bench (`civic bench ingest`, `civic bench api`) runs the real `civic` processes as a deployment does,
against a scratch PostgreSQL database and a spare Redis database named explicitly.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from bench import clients
from bench.broker import BRIDGE_USER, PUBLISHER_USER, BenchBroker
from config.settings import Settings, parse_mqtt_url
from config.topics import DeviceKind, Queues

ROOT = Path(__file__).resolve().parent.parent
EARLIEST_BENCH_BOOT = 1_000_000_000  # a run's boot is its start in epoch seconds; real devices count from 0
BRIDGE_CLIENT_ID = "civic-bench-bridge"
READY_TIMEOUT = 60.0


class BenchError(Exception):
    """A reason not to run, or to stop: printed to the user as is."""


# -- the platform's processes -----------------------------------------------------------------------
class Proc:
    """A `civic ...` subprocess in its own session (a Ctrl-C reaches us, not it), output to a log file."""

    def __init__(self, name: str, args: list[str], env: Mapping[str, str], workdir: Path):
        self.name, self.log_path = name, workdir / f"{name}.log"
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "services.cli", *args],
            env=dict(env),
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def output(self, tail: int = 3000) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")[-tail:]

    def stop(self, timeout: float = 30.0) -> None:
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


# -- preparation ------------------------------------------------------------------------------------
def require_scratch_env(env: Mapping[str, str]) -> None:
    missing = [name for name in ("DATABASE_URL", "REDIS_URL") if not env.get(name)]
    if missing:
        raise BenchError(
            f"{' and '.join(missing)} must be set: the bench writes readings and queues jobs, so it runs only "
            "against stores named explicitly — a scratch PostgreSQL database and a spare Redis database number, "
            "e.g. DATABASE_URL=postgresql://127.0.0.1:5432/civic_bench REDIS_URL=redis://127.0.0.1:6379/11"
        )


def prepare_database(rt) -> dict:
    """Migrate, refuse a database holding real readings, seed the district, publish the registry."""
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    logging.getLogger("alembic").setLevel(logging.WARNING)  # its INFO lines would bury the progress line
    from services.db import transaction
    from services.devices.store import publish_registry, seed_district
    from services.district.loader import load_district
    from services.migrate import upgrade

    if rt.engine.dialect.name != "postgresql":
        raise BenchError(f"the ingest bench measures PostgreSQL; DATABASE_URL is {rt.engine.dialect.name}")
    try:
        with rt.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        raise BenchError(f"cannot reach DATABASE_URL ({exc.orig}); create the scratch database first") from exc
    upgrade(rt.settings.database_url)
    with rt.engine.connect() as conn:
        real = conn.execute(text("SELECT count(*) FROM berth_events WHERE boot < :b"), {"b": EARLIEST_BENCH_BOOT})
        real = real.scalar()
        last_boot = conn.execute(text("SELECT max(boot) FROM berth_events")).scalar() or 0
        server = conn.execute(text("SHOW server_version")).scalar()
        dbname = conn.execute(text("SELECT current_database()")).scalar()
    if real:
        raise BenchError(
            f"the database holds {real} berth readings that no bench run wrote (boot < {EARLIEST_BENCH_BOOT}): "
            "point DATABASE_URL at a scratch database"
        )
    district = load_district(rt.settings.district_file)
    with transaction(rt.sessions) as session:
        seed_district(session, district)
    with rt.sessions() as session:
        publish_registry(session, rt.redis, rt.keys)
    return {"district": district, "last_boot": last_boot, "postgres": server, "dbname": dbname}


def check_redis(rt) -> str:
    from redis.exceptions import RedisError
    from rq import SimpleWorker

    try:
        info = rt.redis.info("server")
    except RedisError as exc:
        raise BenchError(f"cannot reach REDIS_URL ({exc})") from exc
    workers = SimpleWorker.count(connection=rt.redis)
    queued = {q: rt.redis.llen(rt.queue(q).key) for q in Queues}
    if workers or any(queued.values()):
        raise BenchError(
            f"REDIS_URL's database has {workers} RQ workers attached and {queued} jobs queued: something else uses "
            "it. Use a spare Redis database number (or stop what is running and empty the queues)."
        )
    return info.get("redis_version", "?")


def counters(rt) -> dict[str, float]:
    return {k.decode(): float(v) for k, v in rt.redis.hgetall(rt.keys.counters).items()}


def counter_delta(before: Mapping[str, float], after: Mapping[str, float], name: str) -> int:
    total = 0.0
    for key, value in after.items():
        if key.split("|", 1)[0] == name:
            total += value - before.get(key, 0.0)
    return int(total)


def tool_version(args: list[str]) -> str:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(args, capture_output=True, text=True, timeout=5)
        text = (out.stdout or out.stderr).strip().splitlines()
        return text[0] if text else "?"
    return "?"


def is_bridge(proc: Proc) -> bool:
    return proc.name.startswith("bridge")


def wait_ready(rt, procs: list[Proc], workers: int) -> None:
    """Until every bridge has subscribed and every worker is registered in Redis."""
    from rq import SimpleWorker

    bridges = [p for p in procs if is_bridge(p)]
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        dead = [p for p in procs if not p.alive()]
        if dead:
            raise BenchError(f"{dead[0].name} exited during start-up:\n{dead[0].output()}")
        subscribed = all("subscribed" in b.output() for b in bridges)
        if subscribed and SimpleWorker.count(connection=rt.redis) >= workers:
            return
        time.sleep(0.2)
    late = "\n".join(b.output() for b in bridges)
    raise BenchError(f"the platform did not start within {READY_TIMEOUT:.0f} s:\n{late}")


def stop_platform(rt, procs: list[Proc], drain_s: float = 15.0) -> None:
    """Bridges first (they hand their open batches to Redis), then let the workers empty the queue before
    they stop: an interrupted run leaves no job behind for the next one."""
    if not procs:
        return
    rest = [p for p in procs if not is_bridge(p)]
    for bridge in (p for p in procs if is_bridge(p)):
        bridge.stop()
    queue_key = rt.queue(Queues.INGEST).key
    deadline = time.monotonic() + drain_s
    with contextlib.suppress(Exception):
        while rt.redis.llen(queue_key) and time.monotonic() < deadline and any(p.alive() for p in rest):
            time.sleep(0.1)
    for p in rest:
        p.stop()
    procs.clear()


def bridge_client_ids(bridges: int) -> list[str]:
    """The bench bridges' MQTT client ids: distinct, so the broker keeps one session and one share each."""
    return [BRIDGE_CLIENT_ID] + [f"{BRIDGE_CLIENT_ID}-{n}" for n in range(2, bridges + 1)]


def forget_bridge_session(mqtt_url: str, client_id: str = BRIDGE_CLIENT_ID) -> None:
    """On a broker we did not start, drop a bench bridge's persistent session: left behind, it would stay
    in the shared group and queue messages nobody reads."""
    import paho.mqtt.client as mqtt

    target = parse_mqtt_url(mqtt_url)
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True, protocol=mqtt.MQTTv311
    )
    if target.username:
        client.username_pw_set(target.username, target.password)
    with contextlib.suppress(OSError):
        client.connect(target.host, target.port)
        client.loop(1)
        client.disconnect()


def write_json(result: dict, path: Path) -> None:
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")


def interrupt_as_error() -> None:
    """SIGTERM unwinds like Ctrl-C, so the finally blocks stop what the bench started."""

    def _raise(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _raise)


class ScratchRun(NamedTuple):
    """What a bench run starts from: checked scratch stores, the seeded district and this run's boot id."""

    settings: Settings
    rt: object  # services.runtime.Runtime
    redis_version: str
    db: dict
    boot: int
    berths: list  # the district's berth sensors, by id: the publisher's round-robin
    topics: tuple[str, ...]


def open_scratch_run(env: Mapping[str, str] | None = None) -> ScratchRun:
    """Check DATABASE_URL and REDIS_URL name scratch stores, migrate and seed; pick a boot id above any stored."""
    from services.runtime import Runtime

    env = dict(os.environ if env is None else env)
    require_scratch_env(env)
    settings = Settings.from_env(env)
    rt = Runtime(settings)
    redis_version = check_redis(rt)
    db = prepare_database(rt)
    boot = max(int(time.time()), db["last_boot"] + 1)
    berths = sorted((d for d in db["district"].devices if d.kind is DeviceKind.PARKING_BERTH), key=lambda d: d.id)
    topics = tuple(rt.topics.parking_state(d.facility_id, d.berth_id) for d in berths)
    return ScratchRun(settings, rt, redis_version, db, boot, berths, topics)


def start_publisher(ctx, plan: clients.PublishPlan):
    """Start the paced publisher in its own process and wait until it has connected; it publishes once
    ``go`` is set. Returns (process, shared state, go, result pipe)."""
    shared = ctx.Array("d", clients.SLOTS, lock=False)
    go = ctx.Event()
    recv, send = ctx.Pipe(duplex=False)
    publisher = ctx.Process(target=clients.publisher_main, args=(plan, shared, go, send), daemon=True)
    publisher.start()
    deadline = time.monotonic() + READY_TIMEOUT
    while shared[clients.PHASE] != clients.READY:  # FAILED is a later phase than READY: compare for equality
        if shared[clients.PHASE] == clients.FAILED or not publisher.is_alive() or time.monotonic() > deadline:
            error = recv.recv().get("error") if recv.poll() else "did not connect"
            publisher.terminate()
            raise BenchError(f"publisher: {error}")
        time.sleep(0.05)
    return publisher, shared, go, recv


def bench_broker(settings: Settings, rt) -> tuple[BenchBroker | None, str, str]:
    """(our own Mosquitto or None, the bridge's URL, the publisher's URL): MQTT_URL's broker when it is set."""
    if settings.mqtt_url:
        return None, settings.mqtt_url, settings.mqtt_url
    broker = BenchBroker(rt.topics).start()
    return broker, broker.url(BRIDGE_USER), broker.url(PUBLISHER_USER)
