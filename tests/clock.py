"""The clock moved in this process as SENDER_CLOCK_OFFSET moves it in a deployment (sender.db.utcnow)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sender import db

# 00:30 in Paris (UTC+1 in winter) on 15 January 2026, while UTC still says the 14th.
PARIS_HALF_PAST_MIDNIGHT = datetime(2026, 1, 14, 23, 30)
PARIS_TODAY = "2026-01-15"
PARIS_TOMORROW = "2026-01-16"


def move_clock(monkeypatch: pytest.MonkeyPatch, moment: datetime) -> None:
    """Make `utcnow()` say `moment` (naive UTC) for the rest of the test, give or take its own duration."""
    monkeypatch.setattr(db, "CLOCK_OFFSET", moment - datetime.now(UTC).replace(tzinfo=None))
