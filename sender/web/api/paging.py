"""Cursor paging of the API: an opaque `cursor`, a bounded `limit` (schemas.paging), `next_cursor` null at the end."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sender.services.errors import ValidationFailed
from sender.web.api.schemas.base import MAX_ID

_PREFIX = "c1:"

T = TypeVar("T")


def encode_cursor(last_id: int) -> str:
    """An opaque token meaning 'after this row'; clients must not build or parse it."""
    return base64.urlsafe_b64encode(f"{_PREFIX}{last_id}".encode()).decode().rstrip("=")


def decode_cursor(raw: str | None) -> int | None:
    """The row id a cursor points after (None without a cursor), or a ValidationFailed on `cursor`."""
    if not raw:
        return None
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
        if text.startswith(_PREFIX):
            digits = text[len(_PREFIX) :]
            # No row id is larger than MAX_ID; a longer number would only reach the database as an error.
            if digits.isdigit() and len(digits) <= len(str(MAX_ID)) and int(digits) <= MAX_ID:
                return int(digits)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise ValidationFailed({"cursor": "is not a cursor returned by this API"})


def page_body(
    items: Sequence[T], has_more: bool, key: Callable[[T], int], show: Callable[[T], dict[str, Any]]
) -> dict[str, Any]:
    """{"items": [...], "next_cursor": ...} for one page."""
    return {
        "items": [show(item) for item in items],
        "next_cursor": encode_cursor(key(items[-1])) if has_more and items else None,
    }
