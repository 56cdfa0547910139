"""A pool of persistent provider connections, one per sending thread.

Each thread of the pool opens its own transport on first use and keeps it for the whole batch, so N messages
can wait on the provider at once while every connection still carries one transaction at a time (which keeps
SMTP's per-message at-most-once reasoning, and its `unknown` outcome, exact per connection). A transport
reconnects by itself when its connection drops; the pool closes every transport when it ends.
Threads, not asyncio: sending is a wait on the network, smtplib is synchronous, and rendering must stay in
Python either way (see README, Benchmark).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Generic, TypeVar

from sender.channels.base import Transport

M = TypeVar("M")
R = TypeVar("R")


class ConnectionPool(Generic[M]):
    """`size` threads, each with its own transport made by `factory`; use as a context manager."""

    def __init__(self, factory: Callable[[], Transport[M]], size: int) -> None:
        if size < 1:
            raise ValueError("a connection pool needs at least one connection")
        self.size = size
        self._factory = factory
        self._local = threading.local()
        self._lock = threading.Lock()
        self._opened: list[Transport[M]] = []
        self._executor: ThreadPoolExecutor | None = None

    def __enter__(self) -> ConnectionPool[M]:
        self._executor = ThreadPoolExecutor(max_workers=self.size, thread_name_prefix="send")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        with self._lock:
            opened, self._opened = self._opened, []
        for transport in opened:
            transport.__exit__(None, None, None)

    def submit(self, work: Callable[[Transport[M]], R]) -> Future[R]:
        """Run `work` with one of the pool's connections, in that connection's thread."""
        if self._executor is None:
            raise RuntimeError("the connection pool is not open")
        return self._executor.submit(self._run, work)

    @property
    def opened(self) -> int:
        """How many connections were opened so far (each thread opens one on its first message)."""
        with self._lock:
            return len(self._opened)

    def _run(self, work: Callable[[Transport[M]], R]) -> R:
        transport: Any = getattr(self._local, "transport", None)
        if transport is None:
            transport = self._factory()
            transport.__enter__()
            self._local.transport = transport
            with self._lock:
                self._opened.append(transport)
        result: R = work(transport)
        return result
