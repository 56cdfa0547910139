"""Hostile values for the fuzz tests (API, public forms, staff forms, webhooks), and how a form sends them.

Every value here has broken something once, or is the edge of a rule: NUL, lone surrogates, numbers
beyond a 32-bit column or beyond Python's 4,300-digit limit, digits that are not ASCII, long text,
template and markup syntax, invalid UTF-8 bytes, deep nesting. The number of examples of each test is
bounded (`bounded`) so that the fuzz tests add well under a minute to a backend's run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

HOSTILE_TEXT = st.sampled_from(
    ["\ud800", "a\udfffz", "nul\x00", "x" * 5000, "", " ", "9" * 30, "%00", "../.."]
)
HOSTILE_INT = st.sampled_from([0, -1, 2**31, 2**63, 10**20, True, False, 1.5, "1"])

# What a form field may carry: text only. The hostile values break a rule of storage or of numbers (NUL, a
# number a column cannot hold or Python cannot read, digits that are not ASCII, long text); the ordinary
# ones are the edges of the fields' own rules.
HOSTILE_FORM_TEXT = st.sampled_from(
    [
        "\x00",
        "a\x00b",
        "x" * 5000,
        "9" * 30,
        "9" * 5000,
        str(2**31),
        str(-(2**31) - 1),
        "\u00b2",  # a superscript two: a digit to str.isdigit, not to int()
        "\u0661",  # an Arabic-Indic one: int() reads it
    ]
)
ORDINARY_FORM_TEXT = st.sampled_from(
    [
        "",
        " ",
        "-1",
        "0",
        "1",
        "1e9",
        "../..",
        "%00",
        "<script>alert(1)</script>",
        "{{ 7 * 7 }}",
        "\ufeff\u202e",
        "a,,b, ,#c",
        "camille@example.org",
        "a@\u0440robe.example",
        "+33612345678",
        "2026-13-45T25:61",
        "on",
        "yes",
    ]
)
FORM_TEXT = st.one_of(HOSTILE_FORM_TEXT, ORDINARY_FORM_TEXT)
# Invalid UTF-8 as a browser could send it (werkzeug reads it as U+FFFD).
RAW_BYTES = st.sampled_from([b"\xed\xa0\x80", b"\xff\xfe", b"a\xc0\x80b"])
FORM_VALUE: st.SearchStrategy[Any] = st.one_of(
    HOSTILE_FORM_TEXT, ORDINARY_FORM_TEXT, st.text(max_size=12), RAW_BYTES
)
# A field sent once, or repeated (multi-valued fields read every copy).
FORM_FIELD: st.SearchStrategy[Any] = st.one_of(FORM_VALUE, st.lists(FORM_VALUE, min_size=2, max_size=3))


def deep(levels: int) -> Any:
    """A JSON value nested `levels` deep."""
    value: Any = 1
    for _ in range(levels):
        value = {"a": [value]}
    return value


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text() | HOSTILE_TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
) | st.builds(deep, st.sampled_from([6, 50, 400]))


def overrides(
    names: list[str], value: st.SearchStrategy[Any] = FORM_FIELD
) -> st.SearchStrategy[dict[str, Any]]:
    """A hostile value for one of `names` (a storage-breaking one first), or values for any number of them."""
    if not names:
        return st.just({})
    field = st.sampled_from(names)
    hostile = st.builds(lambda name, v: {name: v}, field, HOSTILE_FORM_TEXT)
    one = st.builds(lambda name, v: {name: v}, field, value)
    many = st.fixed_dictionaries({}, optional={name: value for name in names})
    return st.one_of(hostile, one, many)


def _pair(name: str, value: Any) -> str:
    raw = value if isinstance(value, bytes) else str(value).encode("utf-8", "surrogatepass")
    return f"{quote(name)}={quote(raw, safe='')}"


def form_body(fields: Mapping[str, Any]) -> str:
    """An application/x-www-form-urlencoded body, raw bytes and repeated fields kept as a client sends them."""
    pairs = []
    for name, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append(_pair(name, item))
    return "&".join(pairs)


def bounded(examples: int) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Hypothesis settings of a fuzz test: `examples` examples, no deadline, the same ones on every run."""
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
