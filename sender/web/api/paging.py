"""Cursor paging of the API: an opaque `cursor`, a bounded `limit`, and `next_cursor` null at the end."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from flask import request

from sender.services.errors import ValidationFailed

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
_PREFIX = "c1:"

T = TypeVar("T")


def encode_cursor(last_id: int) -> str:
    """An opaque token meaning 'after this row'; clients must not build or parse it."""
    return base64.urlsafe_b64encode(f"{_PREFIX}{last_id}".encode()).decode().rstrip("=")


def decode_cursor(raw: str) -> int:
    """The row id a cursor points after, or a ValidationFailed on `cursor`."""
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
        if text.startswith(_PREFIX):
            value = int(text[len(_PREFIX) :])
            if value >= 0:
                return value
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise ValidationFailed({"cursor": "is not a cursor returned by this API"})


def page_args() -> tuple[int | None, int]:
    """(after_id, limit) from the query string."""
    raw_limit = request.args.get("limit")
    limit = DEFAULT_LIMIT
    if raw_limit is not None:
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIMIT:
            raise ValidationFailed({"limit": f"must be a whole number from 1 to {MAX_LIMIT}"})
        limit = int(raw_limit)
    raw_cursor = request.args.get("cursor")
    after = decode_cursor(raw_cursor) if raw_cursor else None
    return after, limit


def page_body(
    items: Sequence[T], has_more: bool, key: Callable[[T], int], show: Callable[[T], dict[str, Any]]
) -> dict[str, Any]:
    """{"items": [...], "next_cursor": ...} for one page."""
    return {
        "items": [show(item) for item in items],
        "next_cursor": encode_cursor(key(items[-1])) if has_more and items else None,
    }
