"""Periodic jobs, run by rq's own CronScheduler (`civic scheduler`)."""

from __future__ import annotations

from rq.cron import CronScheduler

from config.topics import Queues
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
    # On the ingest queue: workers serve it first, so on the default queue the sample would wait out the very
    # backlog it is to report; here it waits only for the jobs ahead of it.
    cron.register(
        pipeline_jobs.sample_pipeline,
        str(Queues.INGEST),
        interval=pipeline_jobs.SAMPLE_INTERVAL_S,
        job_timeout=30,
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
