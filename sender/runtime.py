"""What the web app, the CLI and the worker share: settings, database, Redis, signed-link service."""

from __future__ import annotations

from dataclasses import dataclass, field

from redis import Redis
from rq import Queue
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from sender.config import Settings
from sender.db import make_engine, make_sessionmaker
from sender.tasks.queue import RQJobPort, connect_redis, get_queue
from sender.tokens import TokenService
from sender.work import bind_port


@dataclass
class Runtime:
    """Long-lived resources, created once per process; nothing opens a connection until used."""

    settings: Settings
    engine: Engine
    Session: sessionmaker[Session]
    tokens: TokenService
    _redis: Redis | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        # Jobs recorded in this runtime's sessions go to its Redis once their unit of work commits.
        bind_port(self.Session, RQJobPort(self.settings, lambda: self.redis))

    @property
    def redis(self) -> Redis:
        """The Redis connection, opened (and the embedded server started) on first use."""
        if self._redis is None:
            self._redis = connect_redis(self.settings)
        return self._redis

    def queue(self, name: str = "default") -> Queue:
        """An RQ queue on this runtime's Redis."""
        return get_queue(self.redis, name)


def build_runtime(settings: Settings, *, pool: bool = True) -> Runtime:
    """Create the runtime for a process from validated settings."""
    engine = make_engine(settings.database_url, pool=pool)
    return Runtime(
        settings=settings,
        engine=engine,
        Session=make_sessionmaker(engine),
        tokens=TokenService(settings.secret_keys),
    )
