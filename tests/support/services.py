"""Real services for the integration tiers: the machine's PostgreSQL and Redis, a Mosquitto we start.

On a machine without them a test skips, saying which service is missing — except with CI=true,
where a missing service fails the run (a skipped tier must never pass as green).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest

from workers.ports import free_port, wait_port

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
IN_CI = os.environ.get("CI", "").lower() == "true"


def unavailable(reason: str):
    """Skip, or fail under CI=true, because a real service is missing."""
    if IN_CI:
        pytest.fail(f"CI=true and a required service is missing: {reason}", pytrace=False)
    pytest.skip(reason)


def wait_for(predicate, timeout: float, interval: float = 0.2, message: str = "condition"):
    """Poll ``predicate`` until it returns something truthy; fail the test with ``message`` on timeout."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {message} (last value: {last!r})")


# -- PostgreSQL -------------------------------------------------------------------------------------
def postgres_admin_url() -> str:
    return os.environ.get("TEST_POSTGRES_URL", "postgresql://127.0.0.1:5432/test")


@contextmanager
def scratch_postgres_database():
    """A database of our own on the machine's PostgreSQL, dropped afterwards."""
    import psycopg

    admin = postgres_admin_url()
    try:
        conn = psycopg.connect(admin, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        unavailable(f"PostgreSQL not reachable at {admin}: {exc}")
    name = f"civic_test_{uuid.uuid4().hex[:10]}"
    conn.execute(f'CREATE DATABASE "{name}"')
    base = admin.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()


def clear_database(engine) -> None:
    """Empty every table but Alembic's (TRUNCATE on PostgreSQL, DELETE on SQLite)."""
    from sqlalchemy import text

    from services.db import Base, import_models

    import_models()
    tables = list(reversed(Base.metadata.sorted_tables))
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(t.name for t in tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(table.delete())


# -- Redis ------------------------------------------------------------------------------------------
def redis_url() -> str:
    """A database number of the machine's Redis that nothing else here uses."""
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        unavailable(f"Redis not reachable at {url}: {exc}")
    return url


# -- Mosquitto with the project's configuration -----------------------------------------------------
# Accounts our test broker knows: the services, and two devices for the impersonation tests.
TEST_PASSWORDS = {
    "civic-bridge": "bridge-secret",
    "civic-simulator": "simulator-secret",
    "S-P-ZIYANGLI-001": "device-1-secret",
    "S-P-ZIYANGLI-002": "device-2-secret",
}


def broker_test_accounts():
    from config.topics import Topics
    from services.devices.broker_auth import Account, Role, device_topics, hash_password

    topics = Topics("heping")
    devices = {
        d: Account(
            d,
            hash_password(TEST_PASSWORDS[d]),
            Role.DEVICE,
            device_topics(topics, d, f"parking/P-ZIYANGLI/{d.removeprefix('S-')}"),
        )
        for d in ("S-P-ZIYANGLI-001", "S-P-ZIYANGLI-002")
    }
    return {
        "civic-bridge": Account("civic-bridge", hash_password(TEST_PASSWORDS["civic-bridge"]), Role.BRIDGE),
        "civic-simulator": Account("civic-simulator", hash_password(TEST_PASSWORDS["civic-simulator"]), Role.SIMULATOR),
        **devices,
    }


class Mosquitto:
    """Mosquitto started from config/mosquitto/mosquitto.conf on a spare port, with its own data dir."""

    def __init__(self):
        self.binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(self.binary).exists():
            unavailable("mosquitto is not installed (Debian package: mosquitto)")
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="civic-mosquitto-"))
        self.proc: subprocess.Popen | None = None

    def url(self, user: str = "civic-simulator") -> str:
        """Broker URL with one of the test accounts' credentials."""
        return f"mqtt://{user}:{TEST_PASSWORDS[user]}@127.0.0.1:{self.port}"

    def write_auth(self, accounts) -> None:
        """Write the passwd and acl files as `civic broker files` does, from these accounts."""
        from config.topics import Topics
        from services.devices.broker_auth import render_acl, render_password_file
        from services.devices.provisioning import write_broker_files

        write_broker_files(self.dir / "auth", render_password_file(accounts), render_acl(accounts, Topics("heping")))

    def reload(self) -> None:
        self.proc.send_signal(signal.SIGHUP)

    def config(self) -> Path:
        from services.devices.broker_auth import local_broker_config

        text = (ROOT / "config/mosquitto/mosquitto.conf").read_text()
        config = local_broker_config(text, self.port, self.dir, as_root=os.geteuid() == 0)
        path = self.dir / "mosquitto.conf"
        path.write_text(config)
        return path

    def start(self, via_run_sh: bool = False) -> Mosquitto:
        """Start the broker; with ``via_run_sh``, through config/mosquitto/run.sh as compose does."""
        self.write_auth(list(broker_test_accounts().values()))
        log = open(self.dir / "mosquitto.log", "ab")
        command = [self.binary, "-c", str(self.config())]
        if via_run_sh:
            command = ["sh", str(ROOT / "config/mosquitto/run.sh"), str(self.config())]
        env = os.environ | {"MOSQUITTO_AUTH_DIR": str(self.dir / "auth")}
        self.proc = subprocess.Popen(command, stdout=log, stderr=log, env=env)
        if not wait_port("127.0.0.1", self.port):
            self.stop()
            pytest.fail(f"mosquitto did not start; log: {(self.dir / 'mosquitto.log').read_text()[-2000:]}")
        return self

    def stop(self, kill: bool = False) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill() if kill else self.proc.terminate()
            self.proc.wait(10)

    def cleanup(self) -> None:
        self.stop()
        if os.environ.get("KEEP_BROKER_LOGS"):
            print(f"mosquitto files kept in {self.dir}")
            return
        shutil.rmtree(self.dir, ignore_errors=True)


class EmbeddedBroker:
    """The zero-install default's broker (amqtt, `civic embedded-broker`) on a spare port."""

    def __init__(self, workdir: Path):
        self.port, self.workdir = free_port(), workdir
        self.proc: Process | None = None

    def url(self, user: str = "civic-simulator") -> str:
        return f"mqtt://{user}:{TEST_PASSWORDS[user]}@127.0.0.1:{self.port}"  # amqtt admits any credentials

    def start(self) -> EmbeddedBroker:
        self.proc = Process(["embedded-broker", "--port", str(self.port)], dict(os.environ), "amqtt", self.workdir)
        if not wait_port("127.0.0.1", self.port, timeout=20):
            pytest.fail(f"the embedded broker did not start: {self.proc.output()}")
        return self

    def cleanup(self) -> None:
        if self.proc:
            self.proc.stop()


# -- our own processes ------------------------------------------------------------------------------
class Process:
    """A `civic ...` subprocess with its output in a log file the failure message can quote."""

    def __init__(self, args: list[str], env: dict[str, str], name: str, workdir: Path):
        self.name, self.log_path = name, workdir / f"{name}.log"
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "services.cli", *args], env=env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT
        )

    def alive(self) -> bool:
        return self.proc.poll() is None

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self, kill: bool = False) -> None:
        stop_process(self.proc, kill)
        self.log.close()


def stop_process(proc: subprocess.Popen, kill: bool = False) -> None:
    """SIGTERM (or SIGKILL with ``kill``) and wait; a process that ignores SIGTERM for 15 s is killed."""
    if proc.poll() is None:
        proc.kill() if kill else proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def publish(mqtt_url: str, messages: list[tuple[str, bytes]], client_id: str | None = None, qos: int = 1) -> int:
    """Publish messages at QoS 1 from an outside client and wait until the broker acknowledged each."""
    import paho.mqtt.client as mqtt

    from config.settings import parse_mqtt_url

    target = parse_mqtt_url(mqtt_url)
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=client_id or f"test-pub-{uuid.uuid4().hex[:8]}",
        protocol=mqtt.MQTTv311,
    )
    if target.username:
        client.username_pw_set(target.username, target.password)
    client.connect(target.host, target.port)
    client.loop_start()
    try:
        infos = [client.publish(topic, payload, qos=qos) for topic, payload in messages]
        for info in infos:
            info.wait_for_publish(timeout=10)
        return sum(info.is_published() for info in infos)
    finally:
        client.disconnect()
        client.loop_stop()
