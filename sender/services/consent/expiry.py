"""The "expired" rule, written once: a grant whose purpose's validity has run out no longer counts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_

from sender.enums import ConsentStatus


def has_lapsed(status: str, expires_at: datetime | None, at: datetime) -> bool:
    """Whether a state row is a grant that had expired by `at` (it then reads as expired)."""
    return status == ConsentStatus.GRANTED and expires_at is not None and expires_at <= at


def lapsed_clause(expires_at: Any, at: datetime) -> ColumnElement[bool]:
    """The same rule in SQL, for a granted state row's `expires_at` column."""
    return and_(expires_at.is_not(None), expires_at <= at)
