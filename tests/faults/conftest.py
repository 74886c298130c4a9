"""Fixtures for the fault tests: our own Redis (AOF on, spare port), PostgreSQL, our own Mosquitto.

``env`` is overridden here, so the shared ``runtime`` fixture (tests/conftest.py) empties the
database, seeds the district and publishes the device registry into *this* Redis: the machine's
Redis is never touched. These tests are about Mosquitto's no-loss guarantee, so they run on
PostgreSQL and Mosquitto whatever TEST_BACKEND says.
"""

from __future__ import annotations

import os

import pytest

from tests.support.redis_server import RedisServer
from tests.support.services import ROOT, Mosquitto


@pytest.fixture(scope="module")
def fault_broker():
    """Mosquitto with the project's config, for this module alone.

    Not the session's ``mosquitto``: bridges of other tests leave persistent sessions in the shared
    group there (an offline member keeps taking its share of a burst), and messages queued for them.
    """
    broker = Mosquitto().start()
    yield broker
    broker.cleanup()


@pytest.fixture
def redis_server():
    """A fresh `redis-server` with AOF on a spare port, removed with its files afterwards."""
    server = RedisServer()
    try:
        yield server.start()
    finally:
        server.cleanup()


@pytest.fixture
def env(postgres_url, redis_server, tmp_path):
    """Like tests/conftest.py's ``env``, with REDIS_URL on our own Redis."""
    return {
        **os.environ,
        "DATABASE_URL": postgres_url,
        "REDIS_URL": redis_server.url,
        "BRIDGE_SHARED_GROUP": "ingest",
        "CIVIC_DATA_DIR": str(tmp_path),
        "CIVIC_DISTRICT_FILE": str(ROOT / "config/district/heping.yaml"),
        "BRIDGE_BATCH_MS": "50",
        "LOG_LEVEL": "INFO",
    }
