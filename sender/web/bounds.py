"""Bounds shared by every web input (API, public pages, later the admin UI)."""

from __future__ import annotations

# Largest value of a 32-bit signed integer column: ids beyond it cannot exist, and PostgreSQL refuses them.
MAX_ID = 2**31 - 1


def record_id(value: int | None) -> int | None:
    """A record id read from a form, or None when it cannot name a record (negative, zero, too large)."""
    return value if value is not None and 1 <= value <= MAX_ID else None


def digits_up_to(limit: int) -> str:
    """A regex of the whole numbers from 1 to `limit`, without leading zeros.

    URL converters use it: a path whose id is out of range then matches no rule at all (404), instead of
    matching a rule whose converter refuses it afterwards, which werkzeug reports as 405 when the same path
    takes other methods.
    """
    text = str(limit)
    options = [rf"[1-9]\d{{0,{len(text) - 2}}}"] if len(text) > 1 else []
    for i, char in enumerate(text):
        low = 1 if i == 0 else 0
        rest = len(text) - i - 1
        if int(char) > low:
            options.append(f"{text[:i]}[{low}-{int(char) - 1}]" + (rf"\d{{{rest}}}" if rest else ""))
    options.append(text)
    return "(?:" + "|".join(options) + ")"
