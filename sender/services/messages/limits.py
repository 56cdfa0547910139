"""Hard limits on one render of a marketer template: steps, wall-clock time, size of every value and of the output.

Every render runs against a Budget held in a context variable. The bounded sandbox (services/messages/bounded.py)
spends one step per loop iteration, call, filter, operator and attribute lookup, and checks the size an operation
would produce *before* running it where the size can be predicted (growth.py: repetition, concatenation, padding,
replace, join, split, powers), so a template can neither spin nor build a huge value, even once.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, NoReturn

from sender.i18n import N_

# Chosen so that any real newsletter stays far below them (a rich one needs a few hundred steps and a few ms),
# while a hostile template is stopped within a fraction of a second and a few MB.
STEP_LIMIT = 100_000
# Processor time of the rendering thread: what the template itself costs, whatever else the process runs.
# Kept well above what STEP_LIMIT steps cost (about 160 ms here), so that nested loops stop at the step limit
# with that reason even on a loaded machine, whose shared cores make each step dearer.
CPU_LIMIT_MS = 300
# Wall-clock backstop, generous so that a loaded machine does not fail a legitimate message.
WALL_LIMIT_MS = 1_000
# Clocks are read every few steps: reading them costs more than a step.
_CLOCK_EVERY = 32
OUTPUT_LIMIT = 1_000_000
VALUE_LIMIT = 1_000_000
ITEM_LIMIT = 10_000
INT_BITS_LIMIT = 4_096
DEPTH_LIMIT = 20
# Checked when a template is parsed: deeper ones overflow the parser or Python's own compiler.
BLOCK_NESTING_LIMIT = 10
EXPRESSION_NESTING_LIMIT = 50


class RenderLimitExceeded(ValueError):
    """A template went over a render limit; str() names the limit for people.

    Raised by every marketer-template render: at save time it becomes a 422 on the field, at send time the
    send loop fails that one message with it (and sends the others).
    """


@dataclass
class Budget:
    """What one render may still spend."""

    cpu_deadline: float
    wall_deadline: float
    steps: int = 0
    depth: int = 0
    exceeded: str | None = None
    gc_started: tuple[float, float] | None = None

    def fail(self, message: str) -> NoReturn:
        """Stop the render; the budget stays spent, so a template that swallows the error still fails."""
        self.exceeded = self.exceeded or message
        raise RenderLimitExceeded(self.exceeded)

    def tick(self) -> None:
        """Spend one step; fail past the step count or the deadline."""
        self.steps += 1
        if self.exceeded:
            raise RenderLimitExceeded(self.exceeded)
        if self.steps > STEP_LIMIT:
            self.fail(
                N_(
                    "rendering needs more than %(steps)s steps (loop iterations, calls, operations) (limit)",
                    steps=f"{STEP_LIMIT:,}",
                )
            )
        if self.steps % _CLOCK_EVERY == 0:
            self.check_clocks()

    def check_clocks(self) -> None:
        """Fail past the processor-time or the wall-clock limit."""
        if time.thread_time() > self.cpu_deadline:
            self.fail(N_("rendering took more than %(ms)s ms of processor time (limit)", ms=CPU_LIMIT_MS))
        if time.monotonic() > self.wall_deadline:
            self.fail(N_("rendering took more than %(ms)s ms (limit)", ms=f"{WALL_LIMIT_MS:,}"))


_current: ContextVar[Budget | None] = ContextVar("render_budget", default=None)


def _exclude_gc_pauses(phase: str, _info: dict[str, int]) -> None:
    """Give a render back the time the garbage collector took in its thread."""
    # A full collection of a large process can take longer than the limit, and is no cost of the template.
    budget = _current.get()
    if budget is None:
        return
    if phase == "start":
        budget.gc_started = (time.thread_time(), time.monotonic())
    elif budget.gc_started is not None:
        cpu, wall = budget.gc_started
        budget.cpu_deadline += time.thread_time() - cpu
        budget.wall_deadline += time.monotonic() - wall
        budget.gc_started = None


gc.callbacks.append(_exclude_gc_pauses)


def start() -> tuple[Budget, Any]:
    """Open a fresh budget for one render; pass the token to finish()."""
    budget = Budget(time.thread_time() + CPU_LIMIT_MS / 1000, time.monotonic() + WALL_LIMIT_MS / 1000)
    return budget, _current.set(budget)


def finish(token: Any) -> None:
    """Close the budget opened by start()."""
    _current.reset(token)


def current() -> Budget:
    """The running render's budget; outside a render, marketer code does not run at all."""
    budget = _current.get()
    if budget is None:
        # Also what stops Jinja's compile-time constant folding from running filters unbounded.
        raise RuntimeError("marketer templates render only inside a budget")
    return budget


def tick() -> Budget:
    """Spend one step of the running render."""
    budget = current()
    budget.tick()
    return budget


def fail_value(chars: int) -> None:
    """Refuse a string or bytes value of `chars` characters when it is over the limit."""
    if chars > VALUE_LIMIT:
        current().fail(
            N_("builds a value of more than %(chars)s characters (limit)", chars=f"{VALUE_LIMIT:,}")
        )


def fail_items(items: int) -> None:
    """Refuse a collection of `items` items when it is over the limit."""
    if items > ITEM_LIMIT:
        current().fail(N_("builds a list of more than %(items)s items (limit)", items=f"{ITEM_LIMIT:,}"))


def fail_output(chars: int) -> None:
    """Refuse an output (the render's, or a block's or macro's) of `chars` characters when it is over the limit."""
    if chars > OUTPUT_LIMIT:
        current().fail(f"renders to more than {OUTPUT_LIMIT:,} characters (limit)")


def fail_compared(chars: int) -> None:
    """Refuse sorting or comparing items whose text is `chars` characters in all when it is over the limit."""
    # Case-insensitive sorting builds a lowercase copy of every item, and comparing nested lists walks them.
    if chars > VALUE_LIMIT:
        current().fail(f"sorts or compares more than {VALUE_LIMIT:,} characters (limit)")


def fail_bits(bits: int) -> None:
    """Refuse an integer of `bits` bits when it is over the limit."""
    if bits > INT_BITS_LIMIT:
        current().fail(f"builds a number of more than {INT_BITS_LIMIT:,} bits (limit)")


def checked(value: Any) -> Any:
    """The value, after checking its size (results of operations whose size could not be predicted)."""
    if isinstance(value, str | bytes):
        fail_value(len(value))
    elif isinstance(value, list | tuple | dict | set | frozenset | Mapping):
        fail_items(len(value))
    elif isinstance(value, int):
        fail_bits(value.bit_length())
    return value


def width(value: Any) -> None:
    """Refuse an integer argument (a padding width, a count) larger than the value limit."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > VALUE_LIMIT:
        current().fail(f"asks for a width of more than {VALUE_LIMIT:,} characters (limit)")


def bounded_list(values: Iterable[Any]) -> list[Any]:
    """Materialise an iterable, refusing it as soon as it has too many items or its new items grow too large."""
    if isinstance(values, str | list | tuple | dict | Mapping):
        fail_items(len(values))
        return list(values)
    out = []
    # A generator (|map, |select…) may make each item anew: `|map('string')` of 10,000 lists builds 10,000
    # strings, each within the limits, that together are not.
    built = 0
    for value in values:
        out.append(value)
        if len(out) > ITEM_LIMIT:
            fail_items(len(out))
        built += seq_len(value) or 0
        fail_value(built)
    return out


def seq_len(value: Any) -> int | None:
    """Length of a string, bytes, list or tuple (whose repetition or concatenation is predictable), else None."""
    return len(value) if isinstance(value, str | bytes | list | tuple) else None
