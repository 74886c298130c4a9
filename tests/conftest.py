"""Shared fixtures. Unit tests need nothing; the integration and e2e tiers use real services."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import text

from config.settings import Settings
from tests.support.services import ROOT, Mosquitto, redis_url, scratch_postgres_database

DISTRICT_FILE = ROOT / "config/district/heping.yaml"


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


@pytest.fixture
def env(postgres_url, tmp_path):
    """Environment for the platform's processes: real PostgreSQL and Redis, our Mosquitto set per test."""
    return {
        **os.environ,
        "DATABASE_URL": postgres_url,
        "REDIS_URL": redis_url(),
        "CIVIC_DATA_DIR": str(tmp_path),
        "CIVIC_DISTRICT_FILE": str(DISTRICT_FILE),
        "BRIDGE_BATCH_MS": "50",
        "LOG_LEVEL": "INFO",
    }


@pytest.fixture
def runtime(env):
    """A Runtime on clean state: empty tables (bar the district, re-seeded) and an empty Redis db."""
    from services.db import transaction
    from services.devices.store import publish_registry, seed_district
    from services.district.loader import load_district
    from services.runtime import Runtime

    rt = Runtime(Settings.from_env(env))
    rt.redis.flushdb()
    with rt.engine.begin() as conn:
        tables = conn.execute(
            text(
                "SELECT string_agg(quote_ident(tablename), ', ') FROM pg_tables "
                "WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
            )
        ).scalar()
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    with transaction(rt.sessions) as session:
        seed_district(session, load_district(DISTRICT_FILE))
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
def pipeline(runtime, env, mosquitto, tmp_path):
    """A bridge and a worker running as real processes against our broker, Redis and PostgreSQL.

    The bridge keeps one client id across tests, as a deployed bridge does across restarts: a
    persistent session under a new id would stay in the shared group and take its share while offline.
    """
    from tests.support.services import Process, wait_for

    proc_env = env | {"MQTT_URL": mosquitto.url("civic-bridge")}
    bridge = Process(["bridge", "--client-id", "test-bridge"], proc_env, "bridge", tmp_path)
    worker = Process(["worker"], proc_env, "worker", tmp_path)
    # Ready when the bridge has subscribed: the broker would not queue messages for it before that.
    wait_for(lambda: "subscribed" in bridge.output() or not bridge.alive(), 20, message="bridge to subscribe")
    assert bridge.alive(), bridge.output()
    # Tests publish as the simulator: an outside client with write access to every device topic.
    yield {"bridge": bridge, "worker": worker, "mqtt_url": mosquitto.url(), "env": proc_env, "broker": mosquitto}
    for proc in (bridge, worker):
        proc.stop()
