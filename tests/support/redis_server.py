"""A Redis server of our own, on a spare port with AOF on, for tests that must not share the machine's.

The fault tests kill and restart things and count every key; they run against this instead of the
machine's Redis on 6379, which they never touch.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.support.services import free_port, stop_process, unavailable

REDIS_SERVER = "/usr/bin/redis-server"
MACHINE_PORT = 6379


class RedisServer:
    """`redis-server` with `--appendonly yes --appendfsync everysec --save ""` in a temp dir of its own.

    ``restart()`` keeps the port and the directory, so what the AOF holds comes back.
    """

    def __init__(self, binary: str = REDIS_SERVER):
        self.binary = binary if Path(binary).exists() else shutil.which("redis-server")
        if not self.binary:
            unavailable(f"redis-server is not installed at {binary} (Debian package: redis-server)")
        self.port = free_port()
        while self.port == MACHINE_PORT:  # never the machine's Redis
            self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="civic-redis-"))
        self.log_path = self.dir / "redis.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self, **kwargs):
        import redis

        return redis.Redis.from_url(self.url, **kwargs)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = 10.0) -> RedisServer:
        if self.alive():
            return self
        args = [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.dir),
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--save",
            "",
            "--daemonize",
            "no",
            "--logfile",
            "",  # stdout, which goes to our log file
        ]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=self.dir)
        if not self._wait_ping(timeout):
            self.stop(kill=True)
            pytest.fail(f"redis-server did not answer PING on port {self.port}; log:\n{self.log()}")
        return self

    def _wait_ping(self, timeout: float) -> bool:
        import redis

        deadline = time.monotonic() + timeout
        client = self.client(socket_connect_timeout=0.5, socket_timeout=0.5)
        try:
            while time.monotonic() < deadline:
                if not self.alive():
                    return False
                try:
                    if client.ping():
                        return True
                except redis.RedisError:
                    time.sleep(0.05)
            return False
        finally:
            client.close()

    def stop(self, kill: bool = False) -> None:
        """SIGTERM (Redis flushes the AOF and exits) or, with ``kill``, SIGKILL (up to ~1 s of writes lost)."""
        stop_process(self.proc, kill)

    def restart(self, kill: bool = False, timeout: float = 30.0) -> RedisServer:
        """Stop (or kill) and start again on the same port and directory: it reloads its AOF."""
        self.stop(kill=kill)
        return self.start(timeout)

    def log(self, tail: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-tail:]
        except OSError:
            return ""

    def cleanup(self) -> None:
        self.stop()
        if os.environ.get("KEEP_REDIS_FILES"):
            print(f"redis files kept in {self.dir}")
            return
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.cleanup()
