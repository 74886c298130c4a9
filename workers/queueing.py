"""Queue policy in one place: which job goes where, with what timeout, retries and TTLs."""

from __future__ import annotations

from rq import Queue, Retry, Worker
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry

from config.topics import WORKER_QUEUES, DeviceKind, Queues

# A killed job is retried by RQ only when it was enqueued with Retry (rq 3). rq reads the interval list
# from its end (the last retries take its last values; any earlier one the first value), so one value
# per retry. Measured under load in tests/faults/test_sustained_faults.py (docs/reliability.md):
# - the first retry is immediate: a delayed one waits for rq's scheduler, and a killed worker that ran
#   it holds the scheduler's lock 61 s more (a killed worker's batch waited ~80 s instead of ~20 s);
# - then at most 10 s apart, so a batch is stored within ~10 s of the database's return;
# - 368 s of patience in all. The former Retry(max=10, interval=[1, 2, 5, 10, 30, 60]) gave 112 s
#   (five 1 s retries first), enough for a 20 s outage, with the backlog waiting up to 30 s after it.
INGEST_RETRY_INTERVALS = [0, 1, 2, 5] + [10] * 36
INGEST_RETRY = Retry(max=len(INGEST_RETRY_INTERVALS), interval=INGEST_RETRY_INTERVALS)
RESULT_TTL = 60  # results are not read; keep them briefly for debugging
FAILURE_TTL = 7 * 24 * 3600  # a failed batch stays inspectable for a week

INGEST_JOBS = {
    DeviceKind.PARKING_BERTH: "workers.jobs.ingest_berth_events",
    DeviceKind.AIR_STATION: "workers.jobs.ingest_air_readings",
}
DEAD_LETTER_JOB = "workers.jobs.store_dead_letters"


def enqueue_batch(queue: Queue, func: str, *args, pipeline=None, timeout: int | None = None):
    """Enqueue one batch job with the ingest policy; with ``pipeline`` it is sent with the caller's commands.

    The description is given: rq's default is the call written out, a repr of every reading in the batch
    (5 % of the bridge's CPU at 12,000 readings/s, profiled, and as many bytes again in Redis).
    """
    batch = args[0] if args else ()
    return queue.enqueue_call(
        func,
        args=args,
        description=f"{func}: {len(batch)} items",
        timeout=timeout,
        result_ttl=RESULT_TTL,
        failure_ttl=FAILURE_TTL,
        retry=INGEST_RETRY,
        pipeline=pipeline,
    )


def backlog_jobs(queue: Queue) -> int:
    """Jobs of ``queue`` not done yet: waiting, taken by a worker, scheduled for a retry (the database was
    away) or running.

    Raw LLEN/ZCARD in one round trip: the registries' own ``count`` runs their cleanup, too slow for a
    check before every batch. Permanently failed jobs are not counted (``civic_queue_failed_jobs``).
    """
    pipe = queue.connection.pipeline(transaction=False)
    pipe.llen(queue.key)
    pipe.llen(queue.intermediate_queue_key)  # taken, not started yet (workers/worker.py MovingDequeueQueue)
    pipe.zcard(ScheduledJobRegistry(queue=queue).key)
    pipe.zcard(StartedJobRegistry(queue=queue).key)
    return sum(pipe.execute())


def backpressure(redis, keys, limit: int) -> dict:
    """The ingest backlog against BRIDGE_MAX_BACKLOG: ``active`` while it is at the bound or a bridge held a
    batch back in the last few seconds (workers/bridge.py HOLDING_MARK_S)."""
    backlog = backlog_jobs(Queue(str(Queues.INGEST), connection=redis))
    active = 0 < limit <= backlog or bool(redis.exists(keys.bridge_holding))
    return {"active": active, "backlog_jobs": backlog, "limit": limit}


def queue_states(redis) -> list[dict]:
    """Each worker queue's jobs: waiting, started, failed (kept for inspection) and scheduled (retries)."""
    states = []
    for name in WORKER_QUEUES:
        queue = Queue(str(name), connection=redis)
        states.append(
            {
                "name": str(name),
                "waiting": queue.count,
                "started": StartedJobRegistry(queue=queue).count,
                "failed": FailedJobRegistry(queue=queue).count,
                "scheduled": ScheduledJobRegistry(queue=queue).count,
            }
        )
    return states


def workers_alive(redis) -> int:
    return Worker.count(connection=redis)
