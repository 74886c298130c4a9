"""`civic run` on the zero-install default: readings reach the API within seconds; Ctrl-C stops it all."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

from tests.support.services import ROOT, free_port, wait_for


def get_json(url: str):
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return json.load(response)
    except OSError:
        return None


def children_of(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def test_civic_run_shows_parking_and_air_readings_then_stops_cleanly(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "MQTT_URL")}
    env |= {"CIVIC_DATA_DIR": str(tmp_path / "var")}
    log = open(tmp_path / "run.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "run", "--port", str(port), "--rate", "200"],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        started = time.monotonic()
        stations = wait_for(
            lambda: (s := get_json(f"{base}/api/v1/air/latest")) and any(x["latest"] for x in s) and s,
            60,
            interval=1,
            message="an air reading in the API",
        )
        facilities = wait_for(
            lambda: (
                (f := get_json(f"{base}/api/v1/parking/facilities")) and any(x["occupied"] + x["free"] for x in f) and f
            ),
            60,
            interval=1,
            message="a berth state in the API",
        )
        elapsed = time.monotonic() - started
        print(f"readings visible {elapsed:.1f}s after `civic run` started")
        assert elapsed < 60
        assert {s["id"] for s in stations} >= {"AQ-HEPING-01"}
        assert sum(f["total"] for f in facilities) > 1000
        assert get_json(f"{base}/readyz")["status"] == "ready"
        children = children_of(proc.pid)
        assert len(children) >= 6  # broker, web, worker, scheduler, bridge, simulator
    finally:
        proc.send_signal(signal.SIGINT)  # what Ctrl-C does
        try:
            code = proc.wait(60)
        finally:
            if proc.poll() is None:
                proc.kill()
            log.close()
    output = (tmp_path / "run.log").read_text(errors="replace")
    assert code == 0, output[-3000:]
    assert "CivicPulse stopped." in output
    time.sleep(0.5)
    assert all(subprocess.run(["kill", "-0", str(c)], capture_output=True).returncode != 0 for c in children), (
        "a child process outlived `civic run`"
    )
