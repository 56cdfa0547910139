"""REDIS_URL naming Redis Sentinels: `redis+sentinel://[[user]:password@]host:26379,host:26379/service[/db]`.

The Sentinels say which server is the master of `service`; every process asks them again after a failover.
The password (and user) authenticate to the master and its replicas; `?sentinel_password=` authenticates to
the Sentinels themselves when they require one.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

SENTINEL_SCHEME = "redis+sentinel"
DEFAULT_SENTINEL_PORT = 26379


@dataclass(frozen=True)
class SentinelTarget:
    """Where the Sentinels are, which master they watch, and how to sign in to it."""

    sentinels: tuple[tuple[str, int], ...]
    service: str
    db: int = 0
    username: str | None = None
    password: str | None = None
    sentinel_password: str | None = None


def is_sentinel_url(url: str) -> bool:
    """Whether the URL names Sentinels rather than one server."""
    return url.startswith(f"{SENTINEL_SCHEME}://")


def _host_port(item: str) -> tuple[str, int]:
    """`host`, `host:port` or `[v6]:port`; the port defaults to Sentinel's."""
    host, port = item, ""
    if item.startswith("["):
        host, _, rest = item[1:].partition("]")
        port = rest.removeprefix(":")
    elif ":" in item:
        host, _, port = item.rpartition(":")
    if not host:
        raise ValueError("a Sentinel has no host")
    if port and not (port.isdigit() and 0 < int(port) < 65536):
        raise ValueError("a Sentinel's port must be a number from 1 to 65535")
    return host, int(port) if port else DEFAULT_SENTINEL_PORT


def parse_sentinel_url(url: str) -> SentinelTarget:
    """Read a `redis+sentinel://` URL; ValueError names what is wrong (never repeating the password)."""
    parts = urlsplit(url)
    userinfo, _, hosts = parts.netloc.rpartition("@")
    username, _, password = userinfo.partition(":")
    sentinels = tuple(_host_port(item.strip()) for item in hosts.split(",") if item.strip())
    if not sentinels:
        raise ValueError("name at least one Sentinel: redis+sentinel://host:26379,host:26379/service/db")
    path = [segment for segment in parts.path.split("/") if segment]
    if not path or len(path) > 2:
        raise ValueError("the path must be /service or /service/db, e.g. /mymaster/0")
    if len(path) == 2 and not path[1].isdigit():
        raise ValueError("the database number after the service name must be a whole number")
    options = parse_qs(parts.query)
    unknown = set(options) - {"sentinel_password"}
    if unknown:
        raise ValueError(f"unknown option {sorted(unknown)[0]!r} (known: sentinel_password)")
    sentinel_password = options.get("sentinel_password", [None])[-1]
    return SentinelTarget(
        sentinels=sentinels,
        service=unquote(path[0]),
        db=int(path[1]) if len(path) == 2 else 0,
        username=unquote(username) or None,
        password=unquote(password) or None,
        sentinel_password=sentinel_password or None,
    )
