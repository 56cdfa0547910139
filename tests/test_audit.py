"""The audit trail is hash-chained: any edit or deletion of a row is found by verify_chain (invariant 5)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import JSON, DateTime, bindparam, select, text
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeEngine

from sender.models import AuditEvent
from sender.services.records import audit


def write_chain(session: Session, length: int = 5) -> list[int]:
    """Append `length` audit events and return their ids, oldest first."""
    for n in range(length):
        audit.record(session, "user:7", f"contact.update.{n}", "contact", f"pub{n}", {"fields": ["email"]})
    ids = list(
        session.scalars(
            select(AuditEvent.id).where(AuditEvent.action.like("contact.update.%")).order_by(AuditEvent.id)
        )
    )
    # The chain is sealed after commit; here, in the test's own transaction, as the sealer does.
    audit.seal(session)
    return ids


def raw_update(
    session: Session, row_id: int, column: str, value: Any, type_: TypeEngine[Any] | None = None
) -> None:
    """Change one column of one row with plain SQL, behind the ORM's back, as an attacker would."""
    stmt = text(f"UPDATE audit_events SET {column} = :value WHERE id = :id")  # noqa: S608 - fixed names
    if type_ is not None:
        stmt = stmt.bindparams(bindparam("value", type_=type_))
    session.execute(stmt, {"value": value, "id": row_id})
    session.expire_all()


def test_an_untouched_chain_verifies(db_session: Session) -> None:
    write_chain(db_session)
    assert audit.verify_chain(db_session) is None


def test_an_empty_chain_verifies(db_session: Session) -> None:
    assert audit.verify_chain(db_session) is None


def test_rows_link_to_their_predecessor(db_session: Session) -> None:
    ids = write_chain(db_session, 3)
    rows = db_session.scalars(select(AuditEvent).where(AuditEvent.id.in_(ids)).order_by(AuditEvent.id)).all()
    assert rows[0].prev_hash == audit.GENESIS
    assert [r.prev_hash for r in rows[1:]] == [r.hash for r in rows[:-1]]
    assert len({r.hash for r in rows}) == 3


EDITS: list[tuple[str, Any, TypeEngine[Any] | None]] = [
    ("occurred_at", datetime(2020, 1, 1, 0, 0, 0), DateTime()),
    ("actor", "user:8", None),
    ("action", "contact.erase", None),
    ("subject_type", "campaign", None),
    ("subject_id", "pub-other", None),
    ("details", {"fields": ["phone"]}, JSON()),
    ("prev_hash", "f" * 64, None),
    ("hash", "e" * 64, None),
]


@pytest.mark.parametrize(("column", "value", "type_"), EDITS, ids=[e[0] for e in EDITS])
def test_editing_a_middle_row_is_found_at_that_row(
    db_session: Session, column: str, value: Any, type_: TypeEngine[Any] | None
) -> None:
    ids = write_chain(db_session)
    middle = ids[2]
    raw_update(db_session, middle, column, value, type_)
    assert audit.verify_chain(db_session) == middle


def test_renumbering_a_middle_row_breaks_the_link_after_it(db_session: Session) -> None:
    # The chain's order is its position (seq), given at sealing; moving a row there breaks the next link.
    ids = write_chain(db_session)
    raw_update(db_session, ids[2], "seq", 1_000_000)
    assert audit.verify_chain(db_session) == ids[3]


def test_rewriting_a_row_and_its_hash_is_found_at_the_next_row(db_session: Session) -> None:
    # A forger who recomputes the edited row's own hash still breaks the next row's link.
    ids = write_chain(db_session)
    middle = db_session.get(AuditEvent, ids[2])
    assert middle is not None
    raw_update(db_session, ids[2], "actor", "user:8")
    forged = db_session.get(AuditEvent, ids[2])
    assert forged is not None
    raw_update(db_session, ids[2], "hash", audit._digest(forged.prev_hash, forged))
    assert audit.verify_chain(db_session) == ids[3]


def test_deleting_a_middle_row_is_found_at_the_next_row(db_session: Session) -> None:
    ids = write_chain(db_session)
    db_session.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": ids[2]})
    db_session.expire_all()
    assert audit.verify_chain(db_session) == ids[3]


def test_deleting_the_first_row_is_found_at_the_new_first_row(db_session: Session) -> None:
    ids = write_chain(db_session)
    db_session.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": ids[0]})
    db_session.expire_all()
    assert audit.verify_chain(db_session) == ids[1]
