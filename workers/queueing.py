"""Queue policy in one place: which job goes where, with what timeout, retries and TTLs."""

from __future__ import annotations

from rq import Queue, Retry

from config.topics import DeviceKind

# A killed job is retried by RQ only when it was enqueued with Retry (rq 3).
INGEST_RETRY = Retry(max=10, interval=[1, 2, 5, 10, 30, 60])
RESULT_TTL = 60  # results are not read; keep them briefly for debugging
FAILURE_TTL = 7 * 24 * 3600  # a failed batch stays inspectable for a week

INGEST_JOBS = {
    DeviceKind.PARKING_BERTH: "workers.jobs.ingest_berth_events",
    DeviceKind.AIR_STATION: "workers.jobs.ingest_air_readings",
}
DEAD_LETTER_JOB = "workers.jobs.store_dead_letters"


def enqueue_batch(queue: Queue, func: str, *args, pipeline=None, timeout: int | None = None):
    """Enqueue one batch job with the ingest policy; with ``pipeline`` it is sent with the caller's commands."""
    return queue.enqueue_call(
        func,
        args=args,
        timeout=timeout,
        result_ttl=RESULT_TTL,
        failure_ttl=FAILURE_TTL,
        retry=INGEST_RETRY,
        pipeline=pipeline,
    )
