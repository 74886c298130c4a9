"""`civic worker`: an RQ SimpleWorker on the ingest and default queues, tuned to recover fast."""

from __future__ import annotations

import logging
import time

from redis.exceptions import RedisError
from rq import Queue, SimpleWorker
from rq.exceptions import StopRequested
from sqlalchemy.exc import SQLAlchemyError

from config.topics import WORKER_QUEUES
from services.devices.store import publish_registry
from services.runtime import Runtime

log = logging.getLogger(__name__)

HEARTBEAT_MARGIN_S = 10
# rq blocks an idle worker for worker_ttl - 15 s (ours: IDLE_BLOCK_S, MovingDequeueQueue) and runs
# maintenance only between dequeues: 35 s keeps an idle worker's maintenance (which retries a dead
# worker's job) on time.
WORKER_TTL_S = 35
IDLE_BLOCK_S = 1  # an idle worker blocks on the ingest queue this long, then looks at the others


class MovingDequeueQueue(Queue):
    """Dequeue with LMOVE into the queue's intermediate list, one queue at a time, even for several queues.

    From several queues rq pops with BLPOP: a worker killed between that pop and the job's start leaves the
    job in no list or registry, so its batch is never stored (seen in tests/faults/test_sustained_faults.py).
    From one queue rq moves the job into an intermediate list instead, and its maintenance hands a job left
    there by a dead worker to Retry after a minute. So: each queue in turn with rq's one-queue path, blocking
    on the first (ingest) queue only briefly, to look at the others again soon.
    """

    @classmethod
    def dequeue_any(cls, queues, timeout, connection, job_class=None, serializer=None, death_penalty_class=None):
        queues = list(queues)
        options = {"job_class": job_class, "serializer": serializer, "death_penalty_class": death_penalty_class}
        if len(queues) == 1:
            return super().dequeue_any(queues, timeout, connection, **options)
        for queue in queues:
            if result := super().dequeue_any([queue], None, connection, **options):
                return result
        if timeout is None:
            return None
        return super().dequeue_any(queues[:1], min(timeout, IDLE_BLOCK_S), connection, **options)


class IngestWorker(SimpleWorker):
    """A SimpleWorker whose job heartbeats lapse soon after the job's timeout.

    rq gives a SimpleWorker's job ``timeout + 60`` s: a batch held by a killed worker would wait that
    long before maintenance hands it to Retry. A SimpleWorker runs the job in its own thread and cannot
    heartbeat meanwhile, so the TTL must still cover the whole timeout; the margin is for recording it.
    """

    queue_class = MovingDequeueQueue
    stop_asked = False  # SIGTERM/SIGINT: rq sets its own _stop_requested only when the worker is busy

    def request_stop(self, signum, frame):
        self.stop_asked = True
        super().request_stop(signum, frame)

    def prepare_job_execution(self, job, remove_from_intermediate_queue: bool = False) -> None:
        # rq takes the job off the intermediate list only for a one-queue worker; ours always put it there.
        super().prepare_job_execution(job, remove_from_intermediate_queue=True)

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
    # rq logs three lines per job at INFO: at thousands of readings a second that drowns everything else.
    level = "WARNING" if rt.settings.log_level == "INFO" else rt.settings.log_level
    while True:
        # SimpleWorker runs jobs in this process: ~4x the forking Worker's rate on short batch jobs.
        worker = IngestWorker(
            [str(q) for q in WORKER_QUEUES],  # built as MovingDequeueQueue; jobs carry their own timeout
            connection=rt.redis,
            name=name,
            maintenance_interval=rt.settings.worker_maintenance_interval,
            worker_ttl=WORKER_TTL_S,
        )
        try:
            worked = worker.work(burst=burst, with_scheduler=True, logging_level=level)
            if burst or worker.stop_asked:
                return worked
        except RedisError as exc:  # rq's own teardown failed too: Redis is away
            log.warning("worker %s lost Redis (%s)", worker.name, exc)
        # rq quits its loop when Redis goes away in the middle of a job (a restart): serve again once it is
        # back, rather than exit. The job in hand stays in rq's started registry and is retried when its
        # heartbeat lapses (JOB_TIMEOUT + HEARTBEAT_MARGIN_S), like a killed worker's.
        if not _wait_for_redis(rt, worker):
            return False
        log.warning("worker %s: Redis is back; serving again", worker.name)


def _wait_for_redis(rt: Runtime, worker: IngestWorker) -> bool:
    """Wait until Redis answers and the old worker is deregistered (so its name can be used again);
    False if the worker was asked to stop meanwhile."""
    while not worker.stop_asked:
        try:
            rt.redis.ping()
            worker.register_death()
            return True
        except RedisError:
            time.sleep(0.5)
        except StopRequested:  # rq's SIGTERM handler, still installed
            break
    return False
