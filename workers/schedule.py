"""Periodic jobs, run by rq's own CronScheduler (`civic scheduler`)."""

from __future__ import annotations

from rq.cron import CronScheduler

from config.topics import Queues
from services.runtime import Runtime
from workers import jobs

REGISTRY_REPUBLISH_S = 60  # a restarted Redis gets the device registry back within a minute


def build_scheduler(rt: Runtime) -> CronScheduler:
    cron = CronScheduler(connection=rt.redis, logging_level=rt.settings.log_level)
    cron.register(
        jobs.publish_device_registry, str(Queues.DEFAULT), interval=REGISTRY_REPUBLISH_S, job_timeout=60, result_ttl=60
    )
    return cron
