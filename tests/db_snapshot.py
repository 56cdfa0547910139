"""Every row of every table, to show that a refused request changed nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.db import Base


def snapshot(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    """Each table's rows, sorted by their text (a fresh read: the session's cache is dropped first)."""
    session.expire_all()
    return {
        table.name: sorted((tuple(row) for row in session.execute(select(table))), key=repr)
        for table in Base.metadata.sorted_tables
    }


class RefusalsChangeNothing:
    """Asserts that each refused request (4xx) left every table as it was, reading the tables once per request.

    The rows are read before the first request and after each refusal; a success is followed by a fresh read.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self.last: dict[str, list[tuple[Any, ...]]] | None = None

    def before(self) -> None:
        """Read the tables unless the last read still holds (the previous request was refused)."""
        if self.last is None:
            self.last = snapshot(self.session)

    def after(self, status: int, context: object = None) -> None:
        """Compare with the read before the request if it was refused."""
        if status >= 400:
            now = snapshot(self.session)
            assert now == self.last, (status, context)
        else:
            self.last = None
