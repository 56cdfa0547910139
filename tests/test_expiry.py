"""The "expired" rule: Python helpers and the SQL clause agree, to the second, for every state."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import DateTime, literal, select
from sqlalchemy.orm import Session

from sender.services.consent.expiry import has_lapsed, is_live_grant, lapsed_clause, shown_status

AT = datetime(2024, 3, 1, 12, 0, 0)
MOMENTS = [None, AT - timedelta(seconds=1), AT, AT + timedelta(seconds=1)]


@pytest.mark.parametrize("expires_at", MOMENTS)
def test_a_grant_lapses_at_its_expiry_moment_and_sql_agrees(
    db_session: Session, expires_at: datetime | None
) -> None:
    lapsed = expires_at is not None and expires_at <= AT
    assert has_lapsed("granted", expires_at, AT) is lapsed
    assert is_live_grant("granted", expires_at, AT) is not lapsed
    assert shown_status("granted", expires_at, AT) == ("expired" if lapsed else "granted")
    in_sql = db_session.scalar(select(lapsed_clause(literal(expires_at, DateTime()), AT)))
    assert bool(in_sql) is lapsed


@pytest.mark.parametrize("status", ["pending", "withdrawn"])
@pytest.mark.parametrize("expires_at", MOMENTS)
def test_only_a_grant_lapses_or_lives(status: str, expires_at: datetime | None) -> None:
    assert not has_lapsed(status, expires_at, AT)
    assert not is_live_grant(status, expires_at, AT)
    assert shown_status(status, expires_at, AT) == status
