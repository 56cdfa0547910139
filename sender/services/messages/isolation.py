"""Running checks in a child process under hard limits of processor time, memory and wall-clock time.

What a check builds stays in its child, and the caller waits at most the wall-clock limit, so no input can
slow or grow the calling (web) process. Children come from a forkserver: a small single-threaded process that
imports the check's module once, so each child starts in milliseconds and forking is safe from a
multi-threaded web worker.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import signal
import time
import traceback
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from sender.i18n import N_

# Far above what a check within the render limits (limits.py) needs, far below what would hurt the host.
CPU_SECONDS = 2
MEMORY_MB = 256
WALL_SECONDS = 5.0

K = TypeVar("K", bound=Hashable)
R = TypeVar("R")


@dataclass(frozen=True)
class HardLimits:
    """The limits of one child: processor seconds, megabytes beyond what it maps at start, seconds waited."""

    cpu_seconds: int = CPU_SECONDS
    memory_mb: int = MEMORY_MB
    wall_seconds: float = WALL_SECONDS


@dataclass(frozen=True)
class Stopped:
    """A check its child could not finish; `message` names the hard limit it ran into, for people."""

    message: str


def _mapped_bytes() -> int | None:
    """The address space this process maps now (Linux), or None where it cannot be read."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _limit_self(limits: HardLimits) -> None:
    """Apply the limits to this (child) process; they cannot be raised again."""
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
    mapped = _mapped_bytes()
    if mapped is not None:
        cap = mapped + limits.memory_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


def _child(
    out: Connection,
    limits: HardLimits,
    check: Callable[..., Any],
    calls: Sequence[tuple[Hashable, tuple[Any, ...]]],
) -> None:
    """In the child: limit itself, then run each call, announced first so the parent knows which one stopped."""
    _limit_self(limits)
    for key, args in calls:
        out.send(("start", key))
        try:
            result = check(*args)
        except MemoryError:
            out.send(("memory", key))
            return
        except Exception:
            out.send(("error", key, traceback.format_exc()))
            return
        out.send(("done", key, result))


def _stop_message(limits: HardLimits, exitcode: int | None, reason: str | None) -> str:
    """What stopped a child, for people (in English, with its catalogue form kept for pages)."""
    if reason == "memory":
        return N_("checking it needs more than %(mb)s MB of memory (limit)", mb=limits.memory_mb)
    if reason == "wall":
        return N_("checking it took more than %(seconds)s s (limit)", seconds=f"{limits.wall_seconds:g}")
    if exitcode in (-signal.SIGXCPU, -signal.SIGKILL):
        return N_(
            "checking it needs more than %(seconds)s s of processor time (limit)", seconds=limits.cpu_seconds
        )
    # A failed allocation in C code can end the process rather than raise MemoryError.
    return N_("checking it needs more than %(mb)s MB of memory or failed (limit)", mb=limits.memory_mb)


def _run_child(
    check: Callable[..., R],
    calls: Sequence[tuple[K, tuple[Any, ...]]],
    limits: HardLimits,
    deadline: float | None,
) -> tuple[dict[K, R | Stopped], float]:
    """Run calls in one child until done, stopped or past the deadline; return the results and the deadline.

    The call a limit stopped gets Stopped. A deadline of None is the wall-clock limit from the child's start.
    """
    context = multiprocessing.get_context("forkserver")
    # Loaded once in the server, so a child starts without importing anything (the main module too: a
    # child would run it otherwise, and it must be importable without side effects, as multiprocessing asks).
    context.set_forkserver_preload(["__main__", check.__module__])
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(send, limits, check, calls), daemon=True)
    # start() waits for the forkserver, which imports the check's module when it is new: not the check's time.
    process.start()
    send.close()
    if deadline is None:
        deadline = time.monotonic() + limits.wall_seconds
    results: dict[K, R | Stopped] = {}
    current: K | None = None
    started = False
    reason: str | None = None
    try:
        while True:
            if not receive.poll(max(deadline - time.monotonic(), 0)):
                reason = "wall"
                process.kill()
                break
            try:
                message = receive.recv()
            except EOFError:
                break
            kind, key = message[0], message[1]
            if kind == "start":
                current, started = key, True
            elif kind == "done":
                results[key], current = message[2], None
            elif kind == "memory":
                reason = "memory"
                break
            else:
                raise RuntimeError(f"an isolated check failed:\n{message[2]}")
    finally:
        receive.close()
        process.join(1)
        if process.is_alive():
            process.kill()
            process.join()
    if not started and reason != "wall":
        raise RuntimeError(f"the isolated check could not start (exit code {process.exitcode})")
    if current is None and not started:
        current = calls[0][0]  # too slow to start at all (an overloaded host): the first call is stopped
    if current is not None:
        results[current] = Stopped(_stop_message(limits, process.exitcode, reason))
    return results, deadline


def run_isolated(
    check: Callable[..., R],
    calls: Sequence[tuple[K, tuple[Any, ...]]],
    limits: HardLimits | None = None,
) -> dict[K, R | Stopped]:
    """check(*args) for each (key, args), in child processes under the hard limits: {key: result or Stopped}.

    `check` must be a module-level function, and its arguments and results picklable. When a limit stops a
    call, the calls after it run in a new child, with limits of their own but the same wall-clock deadline: once
    the first child has started, the caller waits at most the wall-clock limit in all.
    """
    limits = limits or HardLimits()
    deadline: float | None = None
    results: dict[K, R | Stopped] = {}
    pending = list(calls)
    while pending:
        if deadline is not None and time.monotonic() >= deadline:
            results.update((key, Stopped(_stop_message(limits, None, "wall"))) for key, _ in pending)
            break
        done, deadline = _run_child(check, pending, limits, deadline)
        results.update(done)
        pending = [(key, args) for key, args in pending if key not in results]
    return {key: results[key] for key, _ in calls}
