"""The "expired" rule, written once: a grant whose purpose's validity has run out no longer counts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_

from sender.enums import ConsentStatus, SkipReason


def has_lapsed(status: str, expires_at: datetime | None, at: datetime) -> bool:
    """Whether a state row is a grant that had expired by `at` (it then reads as expired)."""
    return status == ConsentStatus.GRANTED and expires_at is not None and expires_at <= at


def is_live_grant(status: str, expires_at: datetime | None, at: datetime) -> bool:
    """Whether a state row is a grant still valid at `at`."""
    return status == ConsentStatus.GRANTED and not has_lapsed(status, expires_at, at)


def shown_status(status: str, expires_at: datetime | None, at: datetime) -> str:
    """A state row's status as people see it at `at`: a lapsed grant reads as the gate's "expired"."""
    return SkipReason.EXPIRED if has_lapsed(status, expires_at, at) else status


def lapsed_clause(expires_at: Any, at: datetime) -> ColumnElement[bool]:
    """The same rule in SQL, for a granted state row's `expires_at` column."""
    return and_(expires_at.is_not(None), expires_at <= at)
