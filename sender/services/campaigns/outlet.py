"""Where rendered messages leave: a channel's connection pool, its shared rate limit, backoff when throttled.

Knows no channel: the Channel gives the transports, the pool size, the rates and the meaning of answers.
Each message is rendered, waits for a rate permit, asks its batch whether it may start (the batch records the
start before saying yes), is sent once on one connection, and comes back as an Attempt; a message refused
its start is handed back unsent. A throttling answer ("slow down", e.g. SMTP 4.7.x) pauses every connection of this worker, holds
the shared rate for all workers, and the message is tried again after the pause; such tries are not
attempts. After MAX_THROTTLES in a row the message is handed back unsent (queued again, nothing counted).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from redis import Redis

from sender import metrics
from sender.channels.base import Channel, RenderFailed, SendResult, Transport, Verdict
from sender.channels.pool import ConnectionPool
from sender.channels.ratelimit import RateLimiter
from sender.config import Settings

# Throttle pauses double from the first to the last: 1 + 2 + 4 + 8 + 16 + 32 s, then the message is handed back.
FIRST_PAUSE = 1.0
MAX_PAUSE = 60.0
MAX_THROTTLES = 6


@dataclass(frozen=True)
class Attempt:
    """One message's trip: what the provider answered (None if it never left) and what that means."""

    verdict: Verdict
    result: SendResult | None = None
    detail: str = ""

    @classmethod
    def of(cls, channel: Channel, result: SendResult) -> Attempt:
        """The attempt for a provider answer, judged by the channel."""
        return cls(channel.verdict(result), result, result.detail)

    @classmethod
    def handed_back(cls, detail: str) -> Attempt:
        """A message that never left: back to the queue, and not counted as an attempt (as after throttling)."""
        return cls(Verdict("retry", throttled=True), None, detail)


class Outlet:
    """Sends one batch's messages over `channel`'s pool within its rate limit; use as a context manager."""

    def __init__(
        self,
        channel: Channel,
        settings: Settings,
        redis: Redis | None,
        *,
        transport: Callable[[], Transport[Any]] | None = None,
        connections: int | None = None,
        first_pause: float = FIRST_PAUSE,
    ) -> None:
        self.channel = channel
        self.pool: ConnectionPool[Any] = ConnectionPool(
            transport or (lambda: channel.transport(settings)),
            connections or channel.connections(settings),
        )
        rates = channel.rate_limits(settings)
        self.limiter = RateLimiter(redis, f"sender:rate:{channel.name}", rates) if rates and redis else None
        self._first_pause = first_pause
        self._lock = threading.Lock()
        self._paused_until = 0.0
        self._throttled_in_a_row = 0
        self._send_seconds = metrics.send_observer(channel.name)
        self._rate_limit_wait = metrics.rate_limit_wait_observer(channel.name)

    def __enter__(self) -> Outlet:
        self.pool.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.pool.__exit__(*exc)

    def submit(self, render: Callable[[], Any], start: Callable[[], bool] = lambda: True) -> Future[Attempt]:
        """Render and send one message on the pool once `start()` allows it (it records the start first).

        The future raises only if `render` fails unexpectedly.
        """
        return self.pool.submit(lambda transport: self._deliver(transport, render, start))

    def _deliver(
        self, transport: Transport[Any], render: Callable[[], Any], start: Callable[[], bool]
    ) -> Attempt:
        try:
            message = render()
        except RenderFailed as exc:
            return Attempt(Verdict("failed", exc.reason), None, exc.detail)
        throttles = 0
        started = False
        while True:
            self._wait_out_pause()
            if self.limiter is not None:
                waiting = time.monotonic()
                self.limiter.acquire()
                self._rate_limit_wait(time.monotonic() - waiting)
            if not started:
                # Asked as late as possible: a message that never started can safely go back to the queue.
                if not start():
                    return Attempt.handed_back("not started: the batch is stopping or lost its claim")
                started = True
            sending = time.monotonic()
            result = transport.send(message)
            self._send_seconds(time.monotonic() - sending)
            attempt = Attempt.of(self.channel, result)
            if not attempt.verdict.throttled:
                with self._lock:
                    self._throttled_in_a_row = 0
                return attempt
            throttles += 1
            if throttles >= MAX_THROTTLES:
                return attempt
            self._pause()

    def _pause(self) -> None:
        """Back off: every connection of this worker waits, and the shared rate grants nothing meanwhile."""
        with self._lock:
            now = time.monotonic()
            if now < self._paused_until:
                return  # answers to messages sent before the pause began: that pause covers them
            pause = min(MAX_PAUSE, self._first_pause * 2**self._throttled_in_a_row)
            self._throttled_in_a_row += 1
            self._paused_until = now + pause
        if self.limiter is not None:
            self.limiter.hold(pause)

    def _wait_out_pause(self) -> None:
        while True:
            with self._lock:
                left = self._paused_until - time.monotonic()
            if left <= 0:
                return
            time.sleep(left)
