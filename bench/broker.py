"""A Mosquitto of the bench's own, from config/mosquitto/mosquitto.conf, on a free port and a scratch dir.

Only the listener, the data and credential paths change (and ``user root`` when we are root, so the
broker keeps writing the data dir we made); every setting the no-loss promise depends on is the
project's. The bench's three accounts get fresh random passwords each run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from config.topics import Topics
from services.devices.broker_auth import (
    Account,
    Role,
    hash_password,
    local_broker_config,
    new_password,
    render_acl,
    render_password_file,
)
from services.devices.provisioning import write_broker_files
from workers.ports import free_port, wait_port

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config" / "mosquitto" / "mosquitto.conf"
RAW_TOPIC_ROOT = "civic-bench"  # the raw-subscriber flood goes here, outside the district tree
BRIDGE_USER, PUBLISHER_USER, RAW_USER = "civic-bench-bridge", "civic-bench-publisher", "civic-bench-raw"


@dataclass
class BenchBroker:
    topics: Topics
    binary: str = ""
    port: int = 0
    dir: Path | None = None
    proc: subprocess.Popen | None = None

    def __post_init__(self):
        self.binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(self.binary).exists():
            raise RuntimeError("MQTT_URL is unset and mosquitto is not installed (Debian package: mosquitto)")
        self.passwords = {u: new_password() for u in (BRIDGE_USER, PUBLISHER_USER, RAW_USER)}

    def url(self, user: str) -> str:
        return f"mqtt://{user}:{quote(self.passwords[user], safe='')}@127.0.0.1:{self.port}"

    def _write_auth(self) -> None:
        p = self.passwords
        accounts = [
            Account(BRIDGE_USER, hash_password(p[BRIDGE_USER]), Role.BRIDGE),
            Account(PUBLISHER_USER, hash_password(p[PUBLISHER_USER]), Role.SIMULATOR),
            Account(RAW_USER, hash_password(p[RAW_USER]), Role.SIMULATOR),
        ]
        acl = render_acl(accounts, self.topics) + f"\nuser {RAW_USER}\ntopic readwrite {RAW_TOPIC_ROOT}/#\n"
        write_broker_files(self.dir / "auth", render_password_file(accounts), acl)

    def start(self) -> BenchBroker:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="civic-bench-mosquitto-"))
        self._write_auth()
        conf = self.dir / "mosquitto.conf"
        conf.write_text(local_broker_config(CONFIG.read_text(), self.port, self.dir, os.geteuid() == 0))
        log = open(self.dir / "mosquitto.log", "ab")
        self.proc = subprocess.Popen([self.binary, "-c", str(conf)], stdout=log, stderr=log)
        if not wait_port("127.0.0.1", self.port):
            self.stop()
            raise RuntimeError(f"mosquitto did not start: {self.log_tail()}")
        return self

    def log_tail(self) -> str:
        path = self.dir / "mosquitto.log" if self.dir else None
        return path.read_text(errors="replace")[-2000:] if path and path.exists() else ""

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def cleanup(self, keep: bool = False) -> None:
        self.stop()
        if self.dir and not keep:
            shutil.rmtree(self.dir, ignore_errors=True)
