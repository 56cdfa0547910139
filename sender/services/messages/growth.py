"""Predicting the size an operation would produce, to refuse it before it runs (limits.py holds the limits).

Checking a result after the fact is too late for memory: `'x' * 10**9` has been built by then. Each check here
costs at most a pass over the inputs; how long a value's text would be comes from textsize.py.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping
from typing import Any

from sender.services.messages import limits
from sender.services.messages.textsize import text_size

# A printf conversion: its mapping key, width and precision.
_PRINTF = re.compile(r"%(?:\(([^)]*)\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
# What separates the argument a str.format() field names from the attribute or index it reads.
_FIELD_PATH = re.compile(r"[.\[]")
# Built-in str methods whose result can outgrow their arguments, with the check to run first.
GROWING_METHODS = frozenset(
    {"center", "ljust", "rjust", "zfill", "expandtabs", "replace", "join", "translate"}
    | {"split", "rsplit", "splitlines"}
)
# Filters with a padding width or a count among their arguments.
_WIDTH_FILTERS = frozenset({"center", "indent", "wordwrap", "truncate", "batch", "slice"})
# Filters that turn their input into a list: counted while materialised, not after.
_MATERIALISING = frozenset(
    {"list", "sum", "unique", "sort", "reverse", "groupby", "min", "max", "batch", "slice", "random"}
)
# Filters that write their input as text (str(), repr(), JSON, or through a string method).
_TEXT_FILTERS = frozenset(
    {"capitalize", "center", "e", "escape", "forceescape", "indent", "lower", "upper", "title", "trim"}
    | {"replace", "striptags", "string", "truncate", "urlencode", "urlize", "wordcount", "wordwrap"}
    | {"xmlattr", "filesizeformat"}
)
# Filters that compare their items, some through a lowercase copy of each.
_COMPARING = frozenset({"sort", "unique", "min", "max", "groupby", "dictsort"})
# Tests that compare their value with their argument.
COMPARING_TESTS = frozenset(
    {"in", "==", "eq", "equalto", "!=", "ne", ">", "gt", "greaterthan", ">=", "ge", "<", "lt", "lessthan"}
    | {"<=", "le"}
)
_COMPARABLE = (list, tuple, set, frozenset, Mapping)


def predict_repeat(left: Any, right: Any) -> None:
    """Before `left * right`: refuse a repetition or a product that would be too large."""
    for seq, count in ((left, right), (right, left)):
        size = limits.seq_len(seq)
        if size is not None and isinstance(count, int):
            total = size * max(count, 0)
            if isinstance(seq, str | bytes):
                limits.fail_value(total)
            else:
                limits.fail_items(total)
            return
    if isinstance(left, int) and isinstance(right, int):
        limits.fail_bits(left.bit_length() + right.bit_length())


def predict_power(base: Any, exponent: Any) -> None:
    """Before `base ** exponent`: refuse an integer result that would be too large."""
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0:
        limits.fail_bits(max(base.bit_length() - 1, 1) * exponent if abs(base) > 1 else 1)


def predict_join(parts: list[Any], separator: str = "") -> None:
    """Before joining: refuse a result that would be too long (each part as the text it would become)."""
    total = len(separator) * max(len(parts) - 1, 0)
    limits.fail_value(total)
    for part in parts:
        total += text_size(part)
        limits.fail_value(total)


def predict_compare(value: Any) -> None:
    """Before comparing a value (==, <, in…): refuse a collection too large to compare item by item."""
    if isinstance(value, _COMPARABLE):
        limits.fail_compared(text_size(value, quoted=True))


def predict_text(value: Any, *, quoted: bool = False, pretty: bool = False) -> None:
    """Before writing a value as text (output, |string, |tojson, |pprint…): refuse one that would be too long."""
    limits.fail_value(text_size(value, quoted=quoted, pretty=pretty))


def predict_replace(text: str, old: str, new: str) -> None:
    """Before `text.replace(old, new)`: refuse a result that would be too long."""
    hits = text.count(old) if old else len(text) + 1
    limits.fail_value(len(text) + hits * len(new))


def predict_printf(fmt: str, args: Any) -> None:
    """Before `fmt % args`: refuse a huge width or precision, or a result that would be too long."""
    positional = args if isinstance(args, tuple) else (args,)
    mapping = args if isinstance(args, Mapping) else None
    # Each positional argument is written once; a mapping's value once per conversion that names it.
    total = len(fmt) if mapping is not None else len(fmt) + sum(text_size(a) for a in positional)
    limits.fail_value(total)
    named: dict[str | None, int] = {}
    for spec in _PRINTF.finditer(fmt):
        key, *numbers = spec.groups()
        for number in numbers:
            if number == "*":
                for arg in positional:
                    limits.width(arg)
                    total += arg if isinstance(arg, int) else 0
            elif number:
                limits.width(int(number))
                total += int(number)
        if mapping is not None:
            if key not in named:
                named[key] = text_size(mapping if key is None else mapping.get(key))
            total += named[key]
        limits.fail_value(total)


def predict_format(fmt: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    """Before str.format(): refuse a huge width or precision, or a result that would be too long."""
    total, automatic = 0, 0
    sizes: dict[int | str, int] = {}
    for literal, field, spec, _ in string.Formatter().parse(fmt):
        total += len(literal)
        if spec:
            for number in re.findall(r"\d+", spec):
                limits.width(int(number))
                total += int(number)
            if "{" in spec:
                for arg in (*args, *kwargs.values()):
                    limits.width(arg)
                    total += arg if isinstance(arg, int) else 0
        if field is not None:
            # An attribute or an item of an argument is written no longer than the argument itself.
            root = _FIELD_PATH.split(field, maxsplit=1)[0]
            key: int | str = int(root) if root.isdigit() else root or automatic
            automatic += not root
            if key not in sizes:
                value = args[key] if isinstance(key, int) and key < len(args) else kwargs.get(str(key))
                sizes[key] = max(text_size(value), 100)
            total += sizes[key]
        limits.fail_value(total)


def before_str_method(name: str, text: str, args: tuple[Any, ...]) -> tuple[Any, ...]:
    """Check a growing str method before it runs; return its (possibly materialised) arguments."""
    if name == "replace" and len(args) >= 2:
        predict_replace(text, str(args[0]), str(args[1]))
    elif name == "join" and args:
        parts = limits.bounded_list(args[0])
        predict_join(parts, text)
        return (parts, *args[1:])
    elif name == "expandtabs":
        for arg in args:
            limits.width(arg)
            limits.fail_value(len(text) + text.count("\t") * (arg if isinstance(arg, int) else 8))
    elif name in ("split", "rsplit"):
        sep = args[0] if args else None
        # At most ITEM_LIMIT + 1 pieces are built to find out: never a list of a million.
        pieces = (
            text.count(sep) + 1 if isinstance(sep, str) and sep else len(text.split(None, limits.ITEM_LIMIT))
        )
        limits.fail_items(pieces)
    elif name == "splitlines":
        breaks = sum(text.count(c) for c in "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029") - text.count("\r\n")
        limits.fail_items(breaks + 1)
    elif name == "translate":
        table = args[0] if args else None
        longest = max((len(v) for v in getattr(table, "values", list)() if isinstance(v, str)), default=1)
        limits.fail_value(len(text) * max(longest, 1))
    else:
        for arg in args:
            limits.width(arg)
    return args


def before_filter(name: str, value: Any, rest: list[Any], kwargs: dict[str, Any]) -> Any:
    """Check a filter's predictable growth before it runs; return its input (materialised when it was counted)."""
    if name in _WIDTH_FILTERS:
        for arg in (*rest, *kwargs.values()):
            limits.width(arg)
    if name == "join":
        parts = limits.bounded_list(value or ())
        predict_join(parts, str((rest or [kwargs.get("d", "")])[0]))
        return parts
    elif name == "replace" and len(rest) >= 2 and isinstance(value, str):
        predict_replace(value, str(rest[0]), str(rest[1]))
    elif name == "indent" and isinstance(value, str):
        indent = (rest or [kwargs.get("width", 4)])[0]
        per_line = len(indent) if isinstance(indent, str) else int(indent)
        limits.fail_value(len(value) + (value.count("\n") + 1) * per_line)
    elif name == "wordwrap" and isinstance(value, str):
        line = (rest or [kwargs.get("width", 79)])[0]
        wrap = kwargs.get("wrapstring") or (rest[2] if len(rest) > 2 else None) or "\n"
        lines = len(value) // max(line if isinstance(line, int) else 1, 1) + 1
        limits.fail_value(len(value) + lines * len(str(wrap)))
    elif name == "format" and isinstance(value, str):
        predict_printf(value, kwargs or tuple(rest))
    elif name in ("tojson", "pprint"):
        predict_text(value, quoted=True, pretty=name == "pprint")
    elif name in _TEXT_FILTERS and not isinstance(value, str):
        predict_text(value)
    elif name in _MATERIALISING and isinstance(value, Iterable) and not isinstance(value, str):
        value = limits.bounded_list(value)
        if name == "sum":
            limits.fail_value(sum(limits.seq_len(v) or 0 for v in value))
    if name in _COMPARING and not isinstance(value, str):
        limits.fail_compared(text_size(value, quoted=True))
    return value
