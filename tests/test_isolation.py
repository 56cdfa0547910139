"""Checks in a child process under hard limits: what they spend or build never reaches the caller (issue 15)."""

from __future__ import annotations

import resource
import time

import pytest

from sender.services.messages.isolation import HardLimits, Stopped, run_isolated

# Low limits, and a wall-clock limit long enough that a loaded machine still meets the others first.
LIMITS = HardLimits(cpu_seconds=1, memory_mb=64, wall_seconds=60)


def work(kind: str) -> str:
    """A check that spins, grows, sleeps, fails or answers, as told (run in the child)."""
    if kind == "spin":
        while True:
            pass
    if kind == "grow":
        return str(len(bytearray(512 * 2**20)))
    if kind == "sleep":
        time.sleep(60)
    if kind == "fail":
        raise ValueError("broken check")
    return kind.upper()


def test_results_come_back_in_the_order_of_the_calls() -> None:
    assert run_isolated(work, [("b", ("b",)), ("a", ("a",))], LIMITS) == {"b": "B", "a": "A"}


def test_a_call_over_the_processor_limit_is_stopped_and_the_next_one_still_runs() -> None:
    results = run_isolated(work, [("first", ("spin",)), ("second", ("ok",))], LIMITS)

    assert results == {
        "first": Stopped("checking it needs more than 1 s of processor time (limit)"),
        "second": "OK",
    }


def test_a_call_over_the_memory_limit_is_stopped_and_the_caller_does_not_grow() -> None:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    results = run_isolated(work, [("big", ("grow",))], LIMITS)

    assert results == {"big": Stopped("checking it needs more than 64 MB of memory (limit)")}
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak < 64 * 1024  # KiB


def test_a_call_over_the_wall_clock_limit_is_stopped_in_time() -> None:
    start = time.monotonic()

    results = run_isolated(work, [("slow", ("sleep",))], HardLimits(wall_seconds=1))

    assert results == {"slow": Stopped("checking it took more than 1 s (limit)")}
    assert time.monotonic() - start < 10


def test_a_check_that_fails_is_an_error_of_the_caller_not_a_limit() -> None:
    with pytest.raises(RuntimeError, match="broken check"):
        run_isolated(work, [("x", ("fail",))], LIMITS)


def test_no_calls_start_no_child() -> None:
    assert run_isolated(work, [], LIMITS) == {}


def test_the_wall_clock_limit_holds_for_all_the_calls_together() -> None:
    start = time.monotonic()

    results = run_isolated(work, [(n, ("sleep",)) for n in range(4)], HardLimits(wall_seconds=2))

    assert set(results.values()) == {Stopped("checking it took more than 2 s (limit)")}
    assert time.monotonic() - start < 6  # not 2 s for each of the four
