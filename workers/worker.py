"""`civic worker`: an RQ SimpleWorker on the ingest and default queues, tuned to recover fast."""

from __future__ import annotations

import logging

from redis.exceptions import RedisError
from rq import SimpleWorker
from sqlalchemy.exc import SQLAlchemyError

from config.topics import WORKER_QUEUES
from services.devices.store import publish_registry
from services.runtime import Runtime

log = logging.getLogger(__name__)

HEARTBEAT_MARGIN_S = 10
# rq blocks an idle worker in BLPOP for worker_ttl - 15 s and runs maintenance only between
# dequeues: 35 s keeps an idle worker's maintenance (which retries a dead worker's job) on time.
WORKER_TTL_S = 35


class IngestWorker(SimpleWorker):
    """A SimpleWorker whose job heartbeats lapse soon after the job's timeout.

    rq gives a SimpleWorker's job ``timeout + 60`` s: a batch held by a killed worker would wait that
    long before maintenance hands it to Retry. A SimpleWorker runs the job in its own thread and cannot
    heartbeat meanwhile, so the TTL must still cover the whole timeout; the margin is for recording it.
    """

    def get_heartbeat_ttl(self, job, working_time: float = 0.0) -> int:
        if not job.timeout or job.timeout < 0:
            return super().get_heartbeat_ttl(job, working_time)
        return int(job.timeout) + HEARTBEAT_MARGIN_S


def run_worker(rt: Runtime, burst: bool = False, name: str | None = None) -> bool:
    """Serve jobs until stopped (or, with ``burst``, until the queues are empty)."""
    try:
        with rt.sessions() as session:
            log.info("published %d devices to the Redis registry", publish_registry(session, rt.redis, rt.keys))
    except (RedisError, SQLAlchemyError) as exc:  # the scheduler retries every minute
        log.warning("could not publish the device registry at start: %s", exc)
    # SimpleWorker runs jobs in this process: ~4x the forking Worker's rate on short batch jobs.
    worker = IngestWorker(
        [rt.queue(q) for q in WORKER_QUEUES],
        connection=rt.redis,
        name=name,
        maintenance_interval=rt.settings.worker_maintenance_interval,
        worker_ttl=WORKER_TTL_S,
    )
    # rq logs three lines per job at INFO: at thousands of readings a second that drowns everything else.
    level = "WARNING" if rt.settings.log_level == "INFO" else rt.settings.log_level
    return worker.work(burst=burst, with_scheduler=True, logging_level=level)
