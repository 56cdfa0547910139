"""How long a value's text would be (str(), repr(), JSON), estimated without building it.

A list can hold the same million-character string ten thousand times at the cost of ten thousand references;
writing it out builds ten billion characters. The estimate walks the value instead: each distinct container
once (a list repeated by reference is remembered), stopping as soon as the total is over the limit, so its
cost is bounded by the limit and by the distinct objects, never by the text it describes.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import ItemsView, Iterator, KeysView, Mapping, ValuesView
from itertools import chain
from typing import Any

from jinja2 import Undefined
from markupsafe import Markup

from sender.services.messages import limits

# Characters that repr(), JSON or pprint may write as an escape: up to 12 characters each (\ud83d\ude00).
_ESCAPABLE = re.compile(r"[^ !#-%(-;=?-\[\]-~]")
_ESCAPE_WIDTH = 12
# The text of an object that is not data (a method, a macro, a loop) is its short repr().
_OBJECT = 100
_CONTAINERS = (list, tuple, set, frozenset, Mapping, KeysView, ValuesView, ItemsView)
# The clock is read every so many objects visited: reading it costs more than a visit.
_CLOCK_EVERY = 4096


def _leaf(value: Any, quoted: bool) -> int | None:
    """Length of the text of a value that holds no other value; None for a container."""
    if type(value) is int:  # the commonest item, checked first: this runs once per item
        return value.bit_length() * 30103 // 100000 + 2
    if isinstance(value, str):
        if not quoted:
            return len(value)
        if value.isascii() and value.isalnum():  # nothing to escape, without a regular expression
            return len(value) + 2
        # One pass to count the characters an escape may widen; the copy it makes is no larger than the text.
        escapes = _ESCAPABLE.subn("", value)[1]
        return len(value) + 2 + escapes * (_ESCAPE_WIDTH - 1) + (8 if isinstance(value, Markup) else 0)
    if isinstance(value, bool) or value is None:
        return 5
    if isinstance(value, int):
        return value.bit_length() * 30103 // 100000 + 2  # decimal digits, and a sign
    if isinstance(value, float):
        return 24
    if isinstance(value, bytes | bytearray):
        return 4 * len(value) + 14
    if isinstance(value, Undefined):
        return 0
    if isinstance(value, _CONTAINERS) or (dataclasses.is_dataclass(value) and not isinstance(value, type)):
        return None
    return _OBJECT


def _children(value: Any) -> tuple[int, Iterator[Any]]:
    """What a container adds around its items, and the items (a mapping's keys and values in turn)."""
    if isinstance(value, Mapping):
        return 16, chain.from_iterable(value.items())
    if dataclasses.is_dataclass(value):
        names = [field.name for field in dataclasses.fields(value)]
        return len(type(value).__name__) + sum(len(n) + 1 for n in names), (getattr(value, n) for n in names)
    return 2 + len(type(value).__name__), iter(value)


def text_size(value: Any, *, quoted: bool = False, pretty: bool = False) -> int:
    """Upper estimate of the length of str(value) (quoted: of its repr() or JSON; pretty: of pprint's).

    Stops counting as soon as the estimate passes the value limit, and reads the render's clocks on the way.
    """
    size = _leaf(value, quoted)
    if size is not None:
        return size
    known: dict[int, int] = {}
    total, seen = 0, 0
    overhead, items = _children(value)
    # One frame per container being walked: its id, its items left, and its size so far.
    frames: list[tuple[int, Iterator[Any], list[int]]] = [(id(value), items, [overhead])]
    total += overhead
    while frames:
        key, items, acc = frames[-1]
        item = next(items, frames)  # the list itself marks the end: no item can be it
        if item is frames:
            frames.pop()
            known[key] = acc[0]
            if not frames:
                return acc[0]
            frames[-1][2][0] += acc[0]
            continue
        seen += 1
        if seen % _CLOCK_EVERY == 0:
            limits.current().check_clocks()
        # A separator, and in pprint's layout a line indented to the item's depth.
        spacing = 2 + (len(frames) if pretty else 0)
        size = _leaf(item, True)
        if size is None:
            size = known.get(id(item))
        if size is None:
            overhead, children = _children(item)
            acc[0] += spacing
            frames.append((id(item), children, [overhead]))
            total += spacing + overhead
        else:
            acc[0] += size + spacing
            total += size + spacing
        if total > limits.VALUE_LIMIT:
            return total
    return total
