"""The connections one process needs, made lazily from Settings (nothing is opened at import)."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from redis import Redis
from rq import Queue

from config.settings import Settings
from config.topics import Queues, RedisKeys, Topics

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session, sessionmaker


class Runtime:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.keys = RedisKeys(settings.district)
        self.topics = Topics(settings.district)

    @cached_property
    def engine(self) -> Engine:
        # Imported here: a bridge never opens the database, and SQLAlchemy would be a quarter of its memory.
        from services.db import make_engine

        return make_engine(self.settings.database_url)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        from services.db import import_models, session_factory

        import_models()  # every mapper must know every table before the first query resolves a foreign key
        return session_factory(self.engine)

    @cached_property
    def redis(self) -> Redis:
        if not self.settings.redis_url:
            raise RuntimeError("REDIS_URL is not set: start the platform with `civic run` for the embedded default")
        # Short timeouts: a dead Redis must surface as an error the caller handles, not a hang.
        return Redis.from_url(
            self.settings.redis_url, socket_timeout=10, socket_connect_timeout=5, health_check_interval=30
        )

    def queue(self, name: Queues = Queues.INGEST) -> Queue:
        return Queue(str(name), connection=self.redis, default_timeout=self.settings.job_timeout)

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()
        if "redis" in self.__dict__:
            self.redis.close()
