"""`civic worker`: an RQ SimpleWorker on the ingest and default queues."""

from __future__ import annotations

import logging

from redis.exceptions import RedisError
from rq import SimpleWorker
from sqlalchemy.exc import SQLAlchemyError

from config.topics import WORKER_QUEUES
from services.devices.store import publish_registry
from services.runtime import Runtime

log = logging.getLogger(__name__)


def run_worker(rt: Runtime, burst: bool = False, name: str | None = None) -> bool:
    """Serve jobs until stopped (or, with ``burst``, until the queues are empty)."""
    try:
        with rt.sessions() as session:
            log.info("published %d devices to the Redis registry", publish_registry(session, rt.redis, rt.keys))
    except (RedisError, SQLAlchemyError) as exc:  # the scheduler retries every minute
        log.warning("could not publish the device registry at start: %s", exc)
    # SimpleWorker runs jobs in this process: ~4x the forking Worker's rate on short batch jobs.
    worker = SimpleWorker(
        [rt.queue(q) for q in WORKER_QUEUES],
        connection=rt.redis,
        name=name,
        maintenance_interval=rt.settings.worker_maintenance_interval,
    )
    # rq logs three lines per job at INFO: at thousands of readings a second that drowns everything else.
    level = "WARNING" if rt.settings.log_level == "INFO" else rt.settings.log_level
    return worker.work(burst=burst, with_scheduler=True, logging_level=level)
