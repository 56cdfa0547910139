"""A real Redis Sentinel set-up for tests: one master, one replica and three Sentinels, on free local ports.

It needs Debian's `redis-server` and `redis-sentinel` (`.ci/run` installs them). Every wait is on a
condition the servers report (replication link up, Sentinels knowing each other, a new master elected).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from redis import Redis
from redis.exceptions import RedisError

from tests.redis_server import _free_port

SERVICE = "mymaster"
# A Sentinel calls a silent master down after this long; low, so a test's failover takes seconds.
DOWN_AFTER_MS = 1000
STARTUP_SECONDS = 60
FAILOVER_SECONDS = 90


def _wait(condition: Callable[[], bool], seconds: float, what: str) -> None:
    """Poll `condition` until it holds; a deadline only turns a hang into a failure that says what."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except RedisError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"Redis Sentinel set-up: {what}")


class SentinelCluster:
    """Master, replica and three Sentinels, started in `folder`; `kill_master` then waits for the failover."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.master_port = _free_port()
        self.replica_port = _free_port()
        self.sentinel_ports = [_free_port() for _ in range(3)]
        self._servers: dict[int, subprocess.Popen[bytes]] = {}

    @property
    def url(self) -> str:
        """REDIS_URL naming the three Sentinels."""
        hosts = ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports)
        return f"redis+sentinel://{hosts}/{SERVICE}/0"

    def _spawn(self, port: int, argv: list[str]) -> None:
        self._servers[port] = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )

    def _redis_server(self, port: int, *extra: str) -> None:
        folder = self.folder / f"redis-{port}"
        folder.mkdir()
        binary = shutil.which("redis-server") or "redis-server"
        self._spawn(
            port,
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(folder), *extra],
        )  # fmt: skip

    def _sentinel(self, port: int) -> None:
        folder = self.folder / f"sentinel-{port}"
        folder.mkdir()
        config = folder / "sentinel.conf"
        # Sentinel rewrites its configuration file as it learns: it must be its own, and writable.
        config.write_text(
            f"port {port}\nbind 127.0.0.1\ndir {folder}\n"
            f"sentinel monitor {SERVICE} 127.0.0.1 {self.master_port} 2\n"
            f"sentinel down-after-milliseconds {SERVICE} {DOWN_AFTER_MS}\n"
            f"sentinel failover-timeout {SERVICE} 10000\n"
        )
        binary = shutil.which("redis-sentinel") or "redis-sentinel"
        self._spawn(port, [binary, str(config)])

    def start(self) -> SentinelCluster:
        """Start every server; return once the replica follows and each Sentinel sees the others."""
        self._redis_server(self.master_port)
        self._redis_server(self.replica_port, "--replicaof", "127.0.0.1", str(self.master_port))
        for port in self.sentinel_ports:
            self._sentinel(port)
        _wait(self._replica_linked, STARTUP_SECONDS, "the replica never synchronised")
        _wait(self._sentinels_ready, STARTUP_SECONDS, "the Sentinels never found each other")
        return self

    def _replica_linked(self) -> bool:
        info = Redis(port=self.replica_port).info("replication")
        return bool(info.get("master_link_status") == "up")

    def _sentinels_ready(self) -> bool:
        for port in self.sentinel_ports:
            state = Redis(port=port, decode_responses=True).sentinel_master(SERVICE)
            if state["num-other-sentinels"] < 2 or state["num-slaves"] < 1:
                return False
        return True

    def master(self) -> int:
        """The port every Sentinel names as the master."""
        ports = {
            Redis(port=port, decode_responses=True).sentinel_get_master_addr_by_name(SERVICE)[1]
            for port in self.sentinel_ports
        }
        return int(ports.pop()) if len(ports) == 1 else 0

    def kill_master(self) -> None:
        """SIGKILL the master: no goodbye to its clients, its replica or the Sentinels."""
        process = self._servers.pop(self.master_port)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def wait_for_failover(self) -> None:
        """Return once every Sentinel names the replica and it acts as master."""

        def promoted() -> bool:
            role = Redis(port=self.replica_port).info("replication").get("role")
            return self.master() == self.replica_port and role == "master"

        _wait(promoted, FAILOVER_SECONDS, "no new master was elected")

    def stop(self) -> None:
        """Stop every server still running."""
        for process in self._servers.values():
            process.terminate()
        for process in self._servers.values():
            process.wait(timeout=30)
        self._servers.clear()

    def __enter__(self) -> SentinelCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
