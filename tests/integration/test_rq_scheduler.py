"""rq's scheduler runs on a thread of `civic scheduler`: jobs retried after an interval come back to their
queue, no worker forks a scheduler process of its own, and a stopped scheduler hands the lock over."""

from __future__ import annotations

import time
from datetime import timedelta

from rq import Queue
from rq.job import JobStatus

from tests.support.civic_processes import child_pids
from tests.support.services import Process, wait_for
from workers.schedule import rq_scheduler_running


def test_the_scheduler_process_moves_due_jobs_and_workers_fork_none(env, runtime, tmp_path):
    scheduler = Process(["scheduler"], env, "scheduler", tmp_path)
    worker = None
    try:
        wait_for(lambda: rq_scheduler_running(runtime.redis), timeout=30, message="rq's scheduler locks")
        worker = Process(["worker", "--name", "sched-test"], env, "worker", tmp_path)
        job = Queue("default", connection=runtime.redis).enqueue_in(timedelta(seconds=1), "os.getpid")
        wait_for(lambda: job.get_status(refresh=True) == JobStatus.FINISHED, timeout=30, message="the due job run")
        time.sleep(1)  # a worker that forks its scheduler does so when it starts working
        assert child_pids(worker.proc.pid) == [], worker.output()

        scheduler.stop()  # SIGTERM: it releases the locks, so a worker can take over at once
        wait_for(lambda: not rq_scheduler_running(runtime.redis), timeout=15, message="the locks released")
        log = scheduler.log_path.read_text()
        assert "Traceback" not in log and "Scheduler stopping, releasing locks" in log, log
    finally:
        for proc in (worker, scheduler):
            if proc is not None:
                proc.stop()
