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
