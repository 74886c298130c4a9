"""A burst of 100,000 QoS 1 readings from an outside client ends as exactly 100,000 stored rows.

The burst comes from `mosquitto_pub -l` (the broker's own client, not our code), on the project's
broker config, through `civic bridge` and two `civic worker` processes, into PostgreSQL, with a
Redis of the test's own (AOF on, spare port). Once undisturbed, once with the bridge and then a
worker killed (SIGKILL) and restarted during the burst: none lost, none doubled either way.

`mosquitto_pub -l` publishes every line to one topic, so the burst is ten publishers, one berth
each, 10,000 lines each, with seq 1..10,000: identity (device, boot, seq) is unique across the
burst. A publisher's stdin is closed only after the broker acknowledged every line (its `-d`
output counts the PUBACKs): closed earlier, mosquitto_pub exits with messages still unsent.

A killed worker's batch is not lost but waits: rq 3 re-runs it (it was enqueued with Retry) once
its execution's heartbeat has lapsed (JOB_TIMEOUT + 10 s after it started: workers/worker.py) and a
worker next passes its maintenance step (every WORKER_MAINTENANCE_INTERVAL; an idle worker wakes
from BLPOP at least every 20 s). `civic scheduler` runs here too, as deployed.

Run with `-s` to see the timeline, recovery times and redeliveries absorbed.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.support.civic_processes import CivicProcesses, job_status, kill_mid_job, now, successful_jobs
from tests.support.services import TEST_PASSWORDS, unavailable

MOSQUITTO_PUB = "/usr/bin/mosquitto_pub"
FACILITY = "P-ZIYANGLI"  # berths 001..150 all have a sensor in the district file
PUBLISHERS = 10
PER_PUBLISHER = 10_000
TOTAL = PUBLISHERS * PER_PUBLISHER
BRIDGE_ID = "fault-bridge"  # one id across restarts: the broker keeps its session and unacked messages
STORE_TIMEOUT_S = 200  # generous; the module's budget is 4 minutes on 2 cores

# A killed worker's batch is re-run JOB_TIMEOUT + 10 s after it started, at the next maintenance
# pass: keep both short (defaults 20 s and 10 s).
PIPELINE_ENV = {
    "BRIDGE_BATCH_MS": "100",
    "JOB_TIMEOUT": "10",
    "WORKER_MAINTENANCE_INTERVAL": "2",
}


# -- the outside publisher ---------------------------------------------------------------------------
def burst_lines(count: int) -> bytes:
    """``count`` valid berth readings, seq 1..count, one JSON object per line, device time in +08:00."""
    start = datetime.now(timezone(timedelta(hours=8))) - timedelta(minutes=30)
    lines = (
        json.dumps(
            {
                "boot": 1,
                "seq": seq,
                "ts": (start + timedelta(milliseconds=seq)).isoformat(timespec="milliseconds"),
                "occupied": seq % 3 == 0,
            },
            separators=(",", ":"),
        )
        for seq in range(1, count + 1)
    )
    return ("\n".join(lines) + "\n").encode()


class Publisher:
    """`mosquitto_pub -q 1 -l` on one berth topic, as the simulator account; counts the broker's PUBACKs."""

    def __init__(self, broker, index: int, lines: bytes, workdir: Path):
        self.berth = f"{FACILITY}-{index:03d}"
        self.topic = f"heping/parking/{FACILITY}/{self.berth}/state"
        self.log_path = workdir / f"mosquitto_pub-{index:03d}.log"
        self._log = open(self.log_path, "wb")
        self._read_at, self._acked = 0, 0
        # -d prints one line per PUBACK; stdbuf makes it line-buffered so the count is live.
        self.proc = subprocess.Popen(
            [
                "stdbuf",
                "-oL",
                MOSQUITTO_PUB,
                "-d",
                "-h",
                "127.0.0.1",
                "-p",
                str(broker.port),
                "-u",
                "civic-simulator",
                "-P",
                TEST_PASSWORDS["civic-simulator"],
                "-q",
                "1",
                "-l",
                "-t",
                self.topic,
                "-i",
                f"fault-pub-{index:03d}-{uuid.uuid4().hex[:6]}",
            ],
            stdin=subprocess.PIPE,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self._writer = threading.Thread(target=self._feed, args=(lines,), daemon=True)
        self._writer.start()

    def _feed(self, lines: bytes) -> None:
        try:
            self.proc.stdin.write(lines)
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError, OSError):
            pass  # it died: acked() tells how far it got

    def acked(self) -> int:
        with open(self.log_path, "rb") as log:
            log.seek(self._read_at)
            chunk = log.read()
        end = chunk.rfind(b"\n") + 1  # count whole lines only
        self._acked += chunk[:end].count(b"received PUBACK")
        self._read_at += end
        return self._acked

    def done(self) -> bool:
        """Close stdin once every line is acknowledged; True when it has exited."""
        if self.acked() >= PER_PUBLISHER and self.proc.stdin and not self.proc.stdin.closed:
            self._writer.join(5)
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        return self.proc.poll() is not None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        if self.proc.stdin and not self.proc.stdin.closed:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        self._log.close()

    def tail(self) -> str:
        text_ = self.log_path.read_text(errors="replace")
        return "\n".join(line for line in text_.splitlines()[-5:])


# -- the platform's processes --------------------------------------------------------------------------
class Platform(CivicProcesses):
    """The platform's processes (tests/support/civic_processes.py) and the burst's publishers."""

    def __init__(self, env: dict, broker, runtime, workdir: Path):
        env = env | PIPELINE_ENV | {"MQTT_URL": broker.url("civic-bridge")}
        super().__init__(env, runtime, workdir, BRIDGE_ID)
        self.broker = broker
        self.publishers: list[Publisher] = []
        self.pub_dir = workdir / "publishers"
        self.pub_dir.mkdir(exist_ok=True)

    def publish_burst(self) -> None:
        if not Path(MOSQUITTO_PUB).exists():
            unavailable(f"{MOSQUITTO_PUB} is missing (Debian package: mosquitto-clients)")
        if not shutil.which("stdbuf"):
            unavailable("stdbuf is missing (Debian package: coreutils)")
        lines = burst_lines(PER_PUBLISHER)
        self.publishers = [Publisher(self.broker, i, lines, self.pub_dir) for i in range(1, PUBLISHERS + 1)]

    def acked(self) -> int:
        return sum(p.acked() for p in self.publishers)

    def publishers_done(self) -> bool:
        done = [p.done() for p in self.publishers]
        short = [p for p in self.publishers if p.proc.poll() is not None and p.acked() < PER_PUBLISHER]
        if short:
            pytest.fail(
                "mosquitto_pub exited before the broker acknowledged every line:\n"
                + "\n".join(f"{p.topic}: {p.acked()} acked, exit {p.proc.poll()}\n{p.tail()}" for p in short),
                pytrace=False,
            )
        return all(done)

    # -- observations --------------------------------------------------------------------------------
    def stored(self) -> int:
        with self.rt.engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM berth_events")).scalar()

    def counters(self) -> dict[str, float]:
        from services.pipeline.metrics import counter_totals

        return counter_totals(self.rt.redis, self.rt.keys)

    def snapshot(self) -> dict:
        c = self.counters()
        return {
            "acked_by_broker": self.acked(),
            "bridge_received": int(c.get("civic_mqtt_received", 0)),
            "stored": self.stored(),
            "duplicates": int(c.get("civic_rows_duplicate", 0)),
            "queued_jobs": self.rt.queue().count,
        }

    def diagnostics(self) -> str:
        from rq.registry import FailedJobRegistry, StartedJobRegistry

        q = self.rt.queue()
        parts = [
            f"snapshot: {self.snapshot()}",
            f"counters: {self.counters()}",
            f"rq: queued={q.count} started={StartedJobRegistry(queue=q).get_job_ids()} "
            f"failed={FailedJobRegistry(queue=q).count}",
            *(f"--- {p.topic}: {p.acked()} acked, exit {p.proc.poll()}\n{p.tail()}" for p in self.publishers),
            self.outputs(),
        ]
        return "\n".join(parts)

    def close(self) -> None:
        for publisher in self.publishers:
            publisher.stop()
        super().close()
        shutil.rmtree(self.pub_dir, ignore_errors=True)  # ~20 MB of -d output


@pytest.fixture
def civic_platform(env, fault_broker, runtime, tmp_path):
    plat = Platform(env, fault_broker, runtime, tmp_path)
    try:
        yield plat
    finally:
        plat.close()


# -- checks ------------------------------------------------------------------------------------------
def wait_all_stored(plat: Platform, started: float, timeout: float = STORE_TIMEOUT_S, on_tick=None) -> dict:
    """Poll until exactly TOTAL rows are stored; print a line of progress every 5 s."""
    deadline, next_print = started + timeout, 0.0
    while True:
        plat.check_alive()
        plat.publishers_done()
        snap = plat.snapshot()
        t = now() - started
        if on_tick:
            on_tick(snap, t)
        if now() >= next_print:
            print(f"  t={t:6.1f}s {snap}", flush=True)
            next_print = now() + 5
        if snap["stored"] >= TOTAL and plat.publishers_done():
            return snap
        if now() > deadline:
            pytest.fail(f"not all stored after {timeout}s\n{plat.diagnostics()}", pytrace=False)
        time.sleep(0.1)


def assert_exactly_once(plat: Platform) -> None:
    from rq.registry import FailedJobRegistry

    with plat.rt.engine.connect() as conn:
        total, distinct = conn.execute(
            text("SELECT count(*), count(DISTINCT (device_id, boot, seq)) FROM berth_events")
        ).one()
        per_berth = conn.execute(
            text(
                "SELECT berth_id, count(*), count(DISTINCT seq), min(seq), max(seq) FROM berth_events "
                "GROUP BY berth_id ORDER BY berth_id"
            )
        ).all()
        dead_letters = conn.execute(text("SELECT count(*) FROM dead_letters")).scalar()
    assert (total, distinct) == (TOTAL, TOTAL), f"{total} rows, {distinct} distinct identities"
    expected = [(p.berth, PER_PUBLISHER, PER_PUBLISHER, 1, PER_PUBLISHER) for p in plat.publishers]
    assert [tuple(r) for r in per_berth] == expected
    assert dead_letters == 0
    assert plat.counters().get("civic_mqtt_rejected", 0) == 0
    assert FailedJobRegistry(queue=plat.rt.queue()).count == 0


# -- the tests ---------------------------------------------------------------------------------------
def test_a_burst_of_100k_is_stored_exactly_once(civic_platform):
    plat = civic_platform
    plat.start_all()
    print(f"\n[no faults] {TOTAL:,} QoS 1 messages from {PUBLISHERS} × mosquitto_pub -l", flush=True)
    started = now()
    plat.publish_burst()
    snap = wait_all_stored(plat, started)
    elapsed = now() - started
    print(f"[no faults] {snap['stored']:,} stored in {elapsed:.1f}s ({TOTAL / elapsed:,.0f}/s)", flush=True)
    assert_exactly_once(plat)
    counters = plat.counters()
    assert counters["civic_mqtt_accepted"] == counters["civic_rows_stored"] == TOTAL
    assert counters.get("civic_rows_duplicate", 0) == 0, "no fault, yet duplicates"


def rows_already_stored(plat: Platform, job_id: str) -> tuple[int, int]:
    """How many of a job's rows are in the table, of how many."""
    from rq.job import Job

    rows = Job.fetch(job_id, connection=plat.rt.redis).args[0]
    with plat.rt.engine.connect() as conn:
        found = conn.execute(
            text(
                "SELECT count(*) FROM berth_events WHERE (device_id, boot, seq) IN "
                "(SELECT * FROM unnest(CAST(:d AS text[]), CAST(:b AS int[]), CAST(:s AS int[])))"
            ),
            {"d": [r["device_id"] for r in rows], "b": [r["boot"] for r in rows], "s": [r["seq"] for r in rows]},
        ).scalar()
    return found, len(rows)


def commit_phase(stored: int, rows: int) -> str:
    if stored == 0:
        return "killed before its commit"
    return "killed after its commit" if stored == rows else "some rows were copies of stored ones"


def test_b_bridge_and_worker_killed_during_the_burst_lose_and_double_nothing(civic_platform):
    plat = civic_platform
    plat.start_all()
    print(f"\n[kills] {TOTAL:,} QoS 1 messages; SIGKILL the bridge at 30% stored, a worker at 45%", flush=True)
    ev: dict = {}  # what happened, and when (monotonic)

    def on_tick(snap: dict, t: float) -> None:
        if "bridge_killed" not in ev and snap["stored"] >= 0.30 * TOTAL:
            ev["bridge_killed"], ev["at_bridge_kill"] = now(), snap
            plat.kill("bridge-1")
            print(f"  t={t:6.1f}s SIGKILL bridge-1 {snap}", flush=True)
            time.sleep(1.0)  # down for a moment; the broker keeps its session and everything unacked
            ev["bridge_restarted"] = now()
            ev["stored_at_bridge_restart"] = plat.stored()
            plat.start_bridge("bridge-2")
            ev["bridge_subscribed"] = now()
        elif "bridge_restarted" in ev and "bridge_stores" not in ev:
            if "bridge_takes" not in ev and snap["bridge_received"] > ev["at_bridge_kill"]["bridge_received"]:
                ev["bridge_takes"] = now()
            if snap["stored"] > ev["stored_at_bridge_restart"]:
                ev["bridge_stores"] = now()
        elif "bridge_stores" in ev and "worker_killed" not in ev and snap["stored"] >= 0.45 * TOTAL:
            for attempt in range(1, 4):
                name = ev.get("worker_restarted_as", "worker-1")
                job, status = kill_mid_job(plat, name)
                ev["worker_killed"], ev["killed_job"], ev["killed_job_status"] = now(), job, status
                ev["killed_rows_in"], ev["killed_rows"] = rows_already_stored(plat, job)
                print(f"  t={now() - started:6.1f}s SIGKILL {name} in job {job} ({status}) {plat.snapshot()}")
                ev["worker_restarted"], ev["worker_restarted_as"] = now(), f"worker-1-{attempt}"
                plat.start_worker(ev["worker_restarted_as"])
                if status == "started":
                    break  # killed mid-job; else the job ended in between: kill the new worker mid-job
            assert ev["killed_job_status"] == "started", "could not kill a worker in the middle of a job"
        elif "worker_restarted" in ev:
            if "worker_works" not in ev and successful_jobs(plat, ev["worker_restarted_as"]) > 0:
                ev["worker_works"] = now()
            if "killed_job_done" not in ev and job_status(plat, ev["killed_job"]) == "finished":
                ev["killed_job_done"] = now()

    started = now()
    plat.publish_burst()
    snap = wait_all_stored(plat, started, on_tick=on_tick)
    elapsed = now() - started
    assert "worker_killed" in ev, f"the burst ended before the worker kill: {ev}"
    # Killed after its commit, the job's rows are in already; rq re-runs it all the same, later.
    # Either way wait for the re-run: it must store nothing twice.
    while "killed_job_done" not in ev:
        plat.check_alive()
        if job_status(plat, ev["killed_job"]) == "finished":
            ev["killed_job_done"] = now()
        elif now() > started + STORE_TIMEOUT_S:
            pytest.fail(f"the killed worker's job was not re-run in time\n{plat.diagnostics()}", pytrace=False)
        time.sleep(0.1)

    counters = plat.counters()
    handed_twice = int(counters["civic_mqtt_accepted"]) - TOTAL  # copies the bridge put in Redis twice
    duplicates = int(counters.get("civic_rows_duplicate", 0))
    print(
        f"[kills] {snap['stored']:,} stored {elapsed:.1f}s after the burst began; the killed job re-run "
        f"{ev['killed_job_done'] - started:.1f}s after",
        flush=True,
    )
    print(
        f"[kills] bridge: down {ev['bridge_restarted'] - ev['bridge_killed']:.1f}s; after restart: "
        f"subscribed in {ev['bridge_subscribed'] - ev['bridge_restarted']:.2f}s, first batch handed over in "
        f"{ev.get('bridge_takes', float('nan')) - ev['bridge_restarted']:.2f}s, stored count moving again in "
        f"{ev['bridge_stores'] - ev['bridge_restarted']:.2f}s; {handed_twice} redelivered copies reached Redis "
        f"again and were absorbed",
        flush=True,
    )
    print(
        f"[kills] worker: killed in a job of {ev['killed_rows']} rows, {ev['killed_rows_in']} of them in the "
        f"table at the kill ({commit_phase(ev['killed_rows_in'], ev['killed_rows'])}); restarted worker's first "
        f"job done "
        f"in {ev.get('worker_works', float('nan')) - ev['worker_restarted']:.2f}s; the killed job re-run and "
        f"finished {ev['killed_job_done'] - ev['worker_killed']:.1f}s after the kill; duplicates absorbed in "
        f"all: {duplicates} ({handed_twice} bridge copies, the rest from the re-run)",
        flush=True,
    )
    assert_exactly_once(plat)
    assert handed_twice >= 0 and duplicates >= handed_twice
