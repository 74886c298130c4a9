"""`civic scheduler`: periodic jobs (rq's own CronScheduler), with rq's scheduler and the pipeline monitor
on threads beside it."""

from __future__ import annotations

import threading

from rq.cron import CronScheduler
from rq.scheduler import RQScheduler

from config.topics import WORKER_QUEUES, Queues
from services.fleet import jobs as fleet_jobs
from services.kpi import jobs as kpi_jobs
from services.pipeline import jobs as pipeline_jobs
from services.runtime import Runtime
from services.service_requests import jobs as request_jobs
from workers import jobs

REGISTRY_REPUBLISH_S = 60  # a restarted Redis gets the device registry back within a minute
BERTH_SWEEP_S = 30  # a silent berth turns unknown at most this long after BERTH_SILENCE_S
PARKING_SNAPSHOT_S = 300  # occupancy history resolution: 12 samples per hourly mean
PARKING_DIRECTORY_S = 60  # a restarted Redis gets facilities and counts back within a minute
AIR_ROLLUP_S = 60  # hourly means (and the current hour's partial row) at most a minute behind
AIR_ALERTS_S = 60
RETENTION_S = 3600  # raw rows go at most an hour after they pass their retention
RETENTION_TIMEOUT_S = 1800  # a first purge of a large backlog; what it deleted before a timeout stays deleted


def build_scheduler(rt: Runtime) -> CronScheduler:
    cron = CronScheduler(connection=rt.redis, logging_level=rt.settings.log_level)
    cron.register(
        jobs.publish_device_registry, str(Queues.DEFAULT), interval=REGISTRY_REPUBLISH_S, job_timeout=60, result_ttl=60
    )
    cron.register(jobs.roll_up_air, str(Queues.DEFAULT), interval=AIR_ROLLUP_S, job_timeout=120, result_ttl=60)
    cron.register(jobs.evaluate_air_alerts, str(Queues.DEFAULT), interval=AIR_ALERTS_S, job_timeout=60, result_ttl=60)
    cron.register(
        request_jobs.sweep_overdue_requests,
        str(Queues.DEFAULT),
        interval=request_jobs.SWEEP_INTERVAL_S,
        job_timeout=60,
        result_ttl=60,
    )
    cron.register(
        kpi_jobs.snapshot_kpis,
        str(Queues.DEFAULT),
        interval=kpi_jobs.SNAPSHOT_INTERVAL_S,
        job_timeout=120,
        result_ttl=60,
    )
    cron.register(jobs.sweep_silent_berths, str(Queues.DEFAULT), interval=BERTH_SWEEP_S, job_timeout=60, result_ttl=60)
    cron.register(
        fleet_jobs.sweep_fleet, str(Queues.DEFAULT), interval=fleet_jobs.SWEEP_INTERVAL_S, job_timeout=60, result_ttl=60
    )
    cron.register(
        jobs.snapshot_parking, str(Queues.DEFAULT), interval=PARKING_SNAPSHOT_S, job_timeout=60, result_ttl=60
    )
    cron.register(
        jobs.publish_parking_directory, str(Queues.DEFAULT), interval=PARKING_DIRECTORY_S, job_timeout=60, result_ttl=60
    )
    cron.register(
        jobs.apply_retention,
        str(Queues.DEFAULT),
        interval=RETENTION_S,
        job_timeout=RETENTION_TIMEOUT_S,
        result_ttl=3600,
    )
    return cron


class ThreadedRQScheduler(RQScheduler):
    """rq's scheduler on a thread of `civic scheduler`, not forked from a worker.

    It moves jobs whose time has come (``Retry(interval=...)``: ingest retries, notifications) back onto
    their queues. Forked from a worker it was a whole interpreter more (69 MiB RSS in the soak,
    docs/benchmarks.md). Workers still start it themselves if they find its lock free — while this
    process is down, or before it started — so retries never wait for a scheduler.
    """

    def _install_signal_handlers(self) -> None:
        pass  # signals belong to the main thread's CronScheduler; stop() is called from there


def rq_scheduler_running(redis) -> bool:
    """True while some rq scheduler (ours, or one a worker forked) holds the locks of every worker queue."""
    return all(redis.exists(RQScheduler.get_locking_key(str(q))) for q in WORKER_QUEUES)


def start_rq_scheduler(rt: Runtime) -> tuple[ThreadedRQScheduler, threading.Thread]:
    scheduler = ThreadedRQScheduler(
        [str(q) for q in WORKER_QUEUES], connection=rt.redis, logging_level=rt.settings.log_level
    )
    thread = threading.Thread(target=scheduler.work, name="rq-scheduler", daemon=True)
    thread.start()
    return scheduler, thread


def run_schedulers(rt: Runtime) -> None:
    """Run the cron, rq's scheduler and the pipeline monitor until SIGINT/SIGTERM, then let rq's scheduler
    release its locks for a worker to take."""
    rq_scheduler, thread = start_rq_scheduler(rt)
    stop = threading.Event()
    monitor = threading.Thread(target=pipeline_jobs.monitor, args=(rt, stop), name="pipeline-monitor", daemon=True)
    monitor.start()
    try:
        build_scheduler(rt).start()
    finally:
        stop.set()
        rq_scheduler.request_stop()
        thread.join(timeout=rq_scheduler.interval + 5)
