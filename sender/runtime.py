"""What the web app, the CLI and the worker share: settings, database, Redis, signed-link service.

The runtime knows no queue library: whoever builds it at the top binds the job port of its sessions
(sender.tasks.queue.bind_queue, called by the app factory and the CLI).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from redis import Redis
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from sender.config import Settings
from sender.db import make_engine, make_sessionmaker
from sender.redis_client import connect_redis
from sender.tokens import TokenService


@dataclass
class Runtime:
    """Long-lived resources, created once per process; nothing opens a connection until used."""

    settings: Settings
    engine: Engine
    Session: sessionmaker[Session]
    tokens: TokenService
    _redis: Redis | None = field(default=None, repr=False)

    @property
    def redis(self) -> Redis:
        """The Redis connection, opened (and the embedded server started) on first use."""
        if self._redis is None:
            self._redis = connect_redis(self.settings)
        return self._redis


def build_runtime(settings: Settings, *, pool: bool = True) -> Runtime:
    """Create the runtime for a process from validated settings."""
    engine = make_engine(settings.database_url, pool=pool)
    return Runtime(
        settings=settings,
        engine=engine,
        Session=make_sessionmaker(engine),
        tokens=TokenService(settings.secret_keys),
    )
