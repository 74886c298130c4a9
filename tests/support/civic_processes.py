"""The platform's own processes for the fault tests: bridge, workers and scheduler, killed and restarted.

Shared by tests/faults/test_burst_lossless.py and tests/faults/test_sustained_faults.py. Every process
is a real `civic ...` subprocess on the test's own Redis; `close()` leaves none behind, including the
children (rq's scheduler) of workers killed with SIGKILL.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

import pytest

from tests.support.services import Process


def now() -> float:
    return time.monotonic()


def child_pids(pid: int) -> list[int]:
    """Direct children of ``pid`` (a worker forks rq's scheduler)."""
    kids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            kids.append(int(entry.name))
    return kids


def leftovers(env: dict) -> list[int]:
    """Processes still carrying this test's REDIS_URL (our own Redis's spare port): ours, orphaned."""
    return [int(e.name) for e in Path("/proc").iterdir() if e.name.isdigit() and is_ours(int(e.name), env)]


def is_ours(pid: int, env: dict) -> bool:
    """A `civic` process of this test: a guard against a recycled pid before a kill."""
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"services.cli" in cmdline and f"REDIS_URL={env['REDIS_URL']}".encode() in environ


class CivicProcesses:
    """Bridge, workers and the periodic-job scheduler as real processes; every one is cleaned up.

    ``bridge_id``: one MQTT client id across bridge restarts, so the broker keeps its session and
    everything unacknowledged for the next bridge.
    """

    def __init__(self, env: dict, runtime, workdir: Path, bridge_id: str):
        self.env, self.rt, self.workdir, self.bridge_id = env, runtime, workdir, bridge_id
        self.procs: dict[str, Process] = {}
        self.strays: list[int] = []  # children of killed processes, killed with them

    def start(self, name: str, *args: str) -> Process:
        proc = Process(list(args), self.env, name, self.workdir)
        self.procs[name] = proc
        return proc

    def start_bridge(self, name: str) -> Process:
        bridge = self.start(name, "bridge", "--client-id", self.bridge_id)
        deadline = now() + 20
        while "subscribed" not in bridge.output() and bridge.alive() and now() < deadline:
            time.sleep(0.05)
        assert "subscribed" in bridge.output(), f"{name} did not subscribe:\n{bridge.output()}"
        return bridge

    def start_worker(self, name: str) -> Process:
        return self.start(name, "worker", "--name", name)

    def start_all(self) -> None:
        # The scheduler is part of the deployment (docker-compose); its minute job also wakes an
        # idle worker, which is when rq notices a dead worker's job (see the worker kill).
        self.start("scheduler", "scheduler")
        self.start_worker("worker-1")
        self.start_worker("worker-2")
        self.start_bridge("bridge-1")

    def kill(self, name: str, kids: list[int] | None = None) -> None:
        """SIGKILL a process and its children (``kids``, if already listed), as a container kill would."""
        proc = self.procs[name]
        kids = child_pids(proc.proc.pid) if kids is None else kids
        proc.stop(kill=True)
        for pid in kids:
            if is_ours(pid, self.env):
                os.kill(pid, signal.SIGKILL)
                self.strays.append(pid)

    def check_alive(self) -> None:
        dead = [n for n, p in self.procs.items() if not p.alive() and not p.log.closed]
        if dead:
            pytest.fail(f"{dead} exited unexpectedly:\n" + "\n".join(self.procs[n].output() for n in dead))

    def outputs(self, tail: int = 1500) -> str:
        """The end of every process's log, killed ones too."""
        return "\n".join(
            f"--- {name}:\n{proc.log_path.read_text(errors='replace')[-tail:]}" for name, proc in self.procs.items()
        )

    def close(self) -> None:
        for proc in self.procs.values():
            kids = child_pids(proc.proc.pid) if proc.alive() else []
            proc.stop()
            self.strays += kids  # a worker stopped by SIGTERM stops its scheduler; make sure
        # Children of killed workers (rq's scheduler) outlive them; pids checked against our REDIS_URL.
        for pid in {*self.strays, *leftovers(self.env)}:
            if pid != os.getpid() and is_ours(pid, self.env):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


# -- a worker in the middle of a job -------------------------------------------------------------------
def current_job(plat: CivicProcesses, worker: str) -> str | None:
    """The job ``worker`` is running now, from rq's per-worker execution set."""
    from rq.executions import WORKER_EXECUTIONS_KEY_TEMPLATE

    members = plat.rt.redis.smembers(WORKER_EXECUTIONS_KEY_TEMPLATE.format(worker))
    return members and next(iter(members)).decode().rsplit(":", 1)[0]


def job_status(plat: CivicProcesses, job_id: str) -> str | None:
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    try:
        return Job.fetch(job_id, connection=plat.rt.redis).get_status().value
    except NoSuchJobError:
        return None


def successful_jobs(plat: CivicProcesses, worker: str) -> int:
    from rq import Worker

    return int(plat.rt.redis.hget(Worker.redis_worker_namespace_prefix + worker, "successful_job_count") or 0)


def is_batch(plat: CivicProcesses, job_id: str) -> bool:
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    try:
        return Job.fetch(job_id, connection=plat.rt.redis).origin == "ingest"
    except NoSuchJobError:
        return False


def kill_mid_job(plat: CivicProcesses, name: str) -> tuple[str, str | None]:
    """SIGKILL worker ``name`` while it runs a job; return the job and its status right after."""
    kids = child_pids(plat.procs[name].proc.pid)  # listed first: the kill must follow the check at once
    deadline = now() + 10
    # A batch, not one of the scheduler's periodic jobs (fleet sweep, KPI snapshot) that the worker also runs:
    # those carry no Retry, and the next tick does their work again.
    while not ((job := current_job(plat, name)) and is_batch(plat, job)) and now() < deadline:
        time.sleep(0.002)
    assert job, f"{name} took no batch in 10 s"
    plat.kill(name, kids)
    return job, job_status(plat, job)
