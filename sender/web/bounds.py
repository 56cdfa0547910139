"""Bounds shared by every web input (API, public pages, staff pages, webhooks)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from werkzeug.routing import BaseConverter

from sender.db import MAX_INT
from sender.services.errors import ValidationFailed

# Slugs and public ids: what a `<key:…>` path variable may hold.
KEY_PATTERN = r"[A-Za-z0-9_-]{1,64}"
# Ids are Integer columns: ids beyond the column's range cannot exist, and PostgreSQL refuses them.
MAX_ID = MAX_INT


def record_id(value: int | None) -> int | None:
    """A record id read from a form, or None when it cannot name a record (negative, zero, too large)."""
    return value if value is not None and 1 <= value <= MAX_ID else None


def column_length(column: Any) -> int:
    """The size of a String column, given as the model's attribute: the longest text PostgreSQL stores in it."""
    return int(column.type.length)


def parse_id(text: str | None) -> int | None:
    """A record id written in ASCII digits, or None when the text cannot name one (any other text, too large).

    The length is checked first: Python refuses to read a number of more than 4,300 digits.
    """
    if text is None or not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_ID)):
        return None
    return record_id(int(text))


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


class RecordIdConverter(BaseConverter):
    """A record id in a path (`<id:…>`): 1 to MAX_ID, so a larger number is a 404, not a database error."""

    regex = digits_up_to(MAX_ID)
    weight = 50

    def to_python(self, value: str) -> int:
        """The id as an int."""
        return int(value)

    def to_url(self, value: Any) -> str:
        """The id as text."""
        return str(int(value))


class KeyConverter(BaseConverter):
    """A slug or a public id in a path (`<key:…>`): URL-safe characters only, so NUL or odd text is a 404."""

    regex = KEY_PATTERN


def _finite(text: str) -> float:
    # NaN and Infinity are not JSON (RFC 8259), and PostgreSQL refuses them in a JSON column.
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("numbers must be finite")
    return value


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def json_object(raw: bytes, is_json: bool) -> dict[str, Any]:
    """A request body as a JSON object, or ValidationFailed on `body` (never a RecursionError)."""
    reason = "must be a JSON object (Content-Type: application/json)"
    if not is_json:
        raise ValidationFailed({"body": reason})
    try:
        data = json.loads(raw, parse_float=_finite, parse_constant=_no_constant)
    except RecursionError:
        raise ValidationFailed({"body": "is nested too deeply"}) from None
    except ValueError:
        raise ValidationFailed({"body": "is not valid JSON"}) from None
    if not isinstance(data, Mapping):
        raise ValidationFailed({"body": reason})
    return dict(data)
