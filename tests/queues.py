"""The runtime as the tests use it: its job port bound to RQ (as the app factory and the CLI bind theirs),
and its queues at hand for assertions."""

from __future__ import annotations

from dataclasses import dataclass

from rq import Queue

from sender.runtime import Runtime
from sender.tasks.queue import bind_queue, get_queue


@dataclass
class QueuedRuntime(Runtime):
    """A runtime whose sessions send their jobs through RQ, with `queue(name)` to look at them."""

    def __post_init__(self) -> None:
        bind_queue(self)

    def queue(self, name: str = "default") -> Queue:
        """An RQ queue on this runtime's Redis."""
        return get_queue(self.redis, name)
