"""One fault under sustained load, measured: the sampler, the phase runner and its figures.

A phase publishes berth readings at a fixed rate (tests/support/load.py) under a boot of its own, injects
one fault a few seconds in, keeps the load on a few seconds after the fault ends, stops it, waits until
every acknowledged reading is stored, and compares the table with the PUBACKs identity by identity.
Backlog = acknowledged − stored (readings the broker confirmed that are not in the table yet).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from sqlalchemy import text

from bench.stats import identity_of
from services.pipeline.metrics import counter_totals
from tests.support.load import BERTHS, LoadPlan, SustainedLoad
from workers.queueing import backlog_jobs

SAMPLE_S = 0.25
PRINT_S = 2.0
QUIET_S = 15.0  # no job left and no new row for this long after the load: nothing more will come


@dataclass
class Sample:
    t: float  # monotonic
    acked: int
    stored: int
    jobs: int | None  # ingest backlog in jobs; None while Redis is away

    @property
    def backlog(self) -> int:
        return self.acked - self.stored


@dataclass
class PhaseResult:
    fault: str
    acked: int = 0
    stored: int = 0
    lost: int = 0
    duplicates: int = 0  # extra rows of one identity in the table
    redeliveries: int = 0  # copies the workers found already stored (civic_rows_duplicate), absorbed
    unacked_stored: int = 0  # stored though the PUBACK never reached the publisher (not an error)
    moving_again_s: float = float("nan")
    caught_up_s: float = float("nan")
    drained_s: float = float("nan")  # load stopped → the last acknowledged reading stored
    peak_backlog: int = 0
    peak_jobs: int = 0
    notes: list[str] = field(default_factory=list)

    def row(self) -> str:
        return (
            f"| {self.fault} | {self.acked:,} | {self.stored:,} | {self.lost} | {self.duplicates} | "
            f"{self.moving_again_s:.1f} | {self.caught_up_s:.1f} | {self.drained_s:.1f} | {self.peak_backlog:,} |"
        )


class Sampler(threading.Thread):
    """Every SAMPLE_S: the load's PUBACK count, the rows stored under its boot, the ingest jobs pending."""

    def __init__(self, load: SustainedLoad, engine, queue, boot: int, label: str, started: float):
        super().__init__(daemon=True)
        self.load, self.engine, self.queue, self.boot = load, engine, queue, boot
        self.label, self.started = label, started
        self.samples: list[Sample] = []
        self.halt = threading.Event()

    def stored(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM berth_events WHERE boot = :b"), {"b": self.boot}).scalar()

    def jobs(self) -> int | None:
        try:
            return backlog_jobs(self.queue)
        except Exception:  # Redis is being restarted
            return None

    def run(self) -> None:
        next_print = 0.0
        while not self.halt.wait(SAMPLE_S):
            s = Sample(time.monotonic(), self.load.acked(), self.stored(), self.jobs())
            self.samples.append(s)
            if s.t >= next_print:
                jobs = "-" if s.jobs is None else s.jobs
                print(
                    f"  [{self.label}] t={s.t - self.started:5.1f}s acked={s.acked:,} stored={s.stored:,} "
                    f"backlog={s.backlog:,} jobs={jobs}",
                    flush=True,
                )
                next_print = s.t + PRINT_S

    def stop(self) -> None:
        self.halt.set()
        self.join(5)


@dataclass
class Phase:
    """Everything a phase needs: the processes, the direct database engine, the broker to publish to."""

    plat: object  # tests.support.civic_processes.CivicProcesses
    engine: object  # direct to PostgreSQL, never through the proxy
    target: object  # MqttTarget of the publisher
    rate: float
    pre_s: float = 4.0  # load before the fault
    post_s: float = 8.0  # load after the fault ends
    settle_timeout: float = 120.0

    def run(self, fault: str, boot: int, inject: Callable[[PhaseResult], None]) -> PhaseResult:
        """Load, inject (``inject`` returns when the fault is over), measure; fail on any loss."""
        result = PhaseResult(fault)
        rt = self.plat.rt
        before = counter_totals(rt.redis, rt.keys).get("civic_rows_duplicate", 0)
        load = SustainedLoad(LoadPlan(self.target, boot, self.rate)).start()
        started = time.monotonic()
        print(f"\n[{fault}] {self.rate:,.0f} readings/s, boot {boot}", flush=True)
        sampler = Sampler(load, self.engine, rt.queue(), boot, fault, started)
        sampler.start()
        try:
            time.sleep(self.pre_s)
            self.plat.check_alive()
            fault_at = time.monotonic()
            print(f"  [{fault}] t={fault_at - started:5.1f}s fault begins", flush=True)
            inject(result)
            fault_end = time.monotonic()
            print(f"  [{fault}] t={fault_end - started:5.1f}s fault over ({fault_end - fault_at:.1f}s)", flush=True)
            time.sleep(self.post_s)
            stopped_at = time.monotonic()
            report = load.stop()
            self._settle(load, sampler, started)
            self.plat.check_alive()
        finally:
            sampler.stop()
            load.kill()
        self._figures(result, load, sampler.samples, (fault_end, stopped_at), boot)
        result.redeliveries = int(counter_totals(rt.redis, rt.keys).get("civic_rows_duplicate", 0) - before)
        print(
            f"[{fault}] published {report['published']:,}, acked {result.acked:,}, stored {result.stored:,}, "
            f"lost {result.lost}, duplicates {result.duplicates}, redeliveries absorbed {result.redeliveries}; "
            f"stored count moving again {result.moving_again_s:.1f}s and backlog ≤ 1 s of load "
            f"{result.caught_up_s:.1f}s after the fault; the last acknowledged one stored {result.drained_s:.1f}s "
            "after the load stopped; "
            f"peak backlog {result.peak_backlog:,} readings "
            f"({result.peak_jobs} jobs) {'; '.join(result.notes)}",
            flush=True,
        )
        return result

    def _settle(self, load: SustainedLoad, sampler: Sampler, started: float) -> None:
        """Wait until every acknowledged reading is stored and no ingest job is left."""
        deadline = time.monotonic() + self.settle_timeout
        stored, still_since = -1, time.monotonic()
        while True:
            self.plat.check_alive()
            last = sampler.samples[-1] if sampler.samples else None
            if last and last.stored != stored:
                stored, still_since = last.stored, time.monotonic()
            caught_up = last and last.stored >= load.acked() and last.jobs == 0
            if caught_up and load.tally(self._stored_rows(sampler.boot)).lost == 0:
                return
            if last and last.jobs == 0 and time.monotonic() - still_since > QUIET_S:
                print(f"  nothing left to store, yet not all stored:\n{self._missing(load, sampler.boot)}", flush=True)
                return  # the figures show the loss
            if time.monotonic() > deadline:
                pytest.fail(
                    f"acknowledged readings not all stored {self.settle_timeout}s after the load stopped: "
                    f"{sampler.samples[-1:]}\n{self._missing(load, sampler.boot)}\n{self.plat.outputs()}",
                    pytrace=False,
                )
            time.sleep(0.5)

    def _missing(self, load: SustainedLoad, boot: int) -> str:
        """Which acknowledged readings are missing, and where rq has the jobs holding them."""
        from rq.job import Job
        from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry

        stored = {(d, seq) for d, seq in self._stored_rows(boot)}
        missing = [
            (f"S-P-ZIYANGLI-{d + 1:03d}", seq)
            for i in range(len(load.acked_map))
            if load.acked_map[i]
            for d, seq in [identity_of(i, BERTHS)]
            if (f"S-P-ZIYANGLI-{d + 1:03d}", seq) not in stored
        ]
        rt = self.plat.rt
        q = rt.queue()
        lines = [f"{len(missing)} missing, e.g. {missing[:5]}"]
        wanted = set(missing)
        for key in rt.redis.scan_iter("rq:job:*", count=1000):
            job_id = key.decode().split(":", 2)[2]
            if ":" in job_id:
                continue
            try:
                job = Job.fetch(job_id, connection=rt.redis)
                rows = job.args[0] if job.args and isinstance(job.args[0], list) else []
            except Exception:
                continue
            hits = sum(
                (r.get("device_id"), r.get("seq")) in wanted
                for r in rows
                if isinstance(r, dict) and r.get("boot") == boot
            )
            if hits:
                lines.append(
                    f"job {job_id}: {hits} of them, status {job.get_status()}, retries_left {job.retries_left}"
                )
        lines.append(
            f"queue {q.count}, scheduled {ScheduledJobRegistry(queue=q).get_job_ids()}, "
            f"started {StartedJobRegistry(queue=q).get_job_ids()}, failed {FailedJobRegistry(queue=q).get_job_ids()}"
        )
        return "\n".join(lines)

    def _stored_rows(self, boot: int) -> list[tuple[str, int]]:
        with self.engine.connect() as conn:
            return [
                tuple(r)
                for r in conn.execute(text("SELECT device_id, seq FROM berth_events WHERE boot = :b"), {"b": boot})
            ]

    def _figures(self, result: PhaseResult, load: SustainedLoad, samples: list[Sample], times, boot: int):
        fault_end, stopped_at = times
        rows = self._stored_rows(boot)
        t = load.tally(rows)
        result.acked, result.stored, result.lost = t.acked, t.stored, t.lost
        result.unacked_stored = t.stored_unacked
        with self.engine.connect() as conn:
            result.duplicates = conn.execute(
                text("SELECT count(*) - count(DISTINCT (device_id, seq)) FROM berth_events WHERE boot = :b"),
                {"b": boot},
            ).scalar()
        assert t.foreign == 0, f"{t.foreign} stored rows the publisher never sent"
        result.peak_backlog = max(s.backlog for s in samples)
        result.peak_jobs = max((s.jobs or 0) for s in samples)
        after = [s for s in samples if s.t >= fault_end]
        moving = next((b for a, b in itertools.pairwise(after) if b.stored > a.stored), None)
        caught_up = next((s for s in after if s.backlog <= self.rate), None)
        result.moving_again_s = moving.t - fault_end if moving else float("nan")
        result.caught_up_s = caught_up.t - fault_end if caught_up else float("nan")
        final = next((s for s in samples if s.stored >= t.stored), None)
        result.drained_s = max(0.0, final.t - stopped_at) if final else float("nan")
