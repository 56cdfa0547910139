"""Lifting a restriction tells the person first (Art. 18(3)): no notice sent, no lift."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from sender import work
from sender.models import AuditEvent, Contact
from sender.runtime import Runtime
from sender.services.rights import restriction
from tests.factories import ContactFactory


def _actions(session: Session, contact: Contact) -> list[str]:
    rows = session.scalars(
        select(AuditEvent.action).where(AuditEvent.subject_id == contact.public_id).order_by(AuditEvent.id)
    )
    return [a for a in rows if a.startswith("rights.restrict")]


def test_the_contact_turns_active_only_after_its_notice_left(runtime: Runtime, db_session: Session) -> None:
    contact = ContactFactory(email="lea@example.org", status="restricted")
    db_session.commit()
    session = runtime.Session()
    restriction.lift(session, runtime.settings, session.get(Contact, contact.id), "dpo@exemple.test")

    # Recorded, not yet in effect: the unit has not committed, so the notice has not left.
    assert db_session.get(Contact, contact.id).status == "restricted"  # type: ignore[union-attr]
    work.commit(session, "test")

    db_session.expire_all()
    assert db_session.get(Contact, contact.id).status == "active"  # type: ignore[union-attr]
    assert len(list(runtime.settings.outbox_path.glob("*.eml"))) >= 1
    assert _actions(db_session, contact) == ["rights.restriction_notice", "rights.restriction_lift"]
    session.close()


def test_a_notice_the_relay_refuses_keeps_the_restriction(runtime: Runtime, db_session: Session) -> None:
    contact = ContactFactory(email="noe@example.org", status="restricted")
    db_session.commit()
    # Nothing listens on port 1: the notice cannot leave, so the person is not told and nothing is lifted.
    dead_relay = runtime.settings.with_overrides(smtp_url="smtp://127.0.0.1:1")
    session = runtime.Session()
    restriction.lift(session, dead_relay, session.get(Contact, contact.id), "dpo@exemple.test")
    work.commit(session, "test")

    db_session.expire_all()
    assert db_session.get(Contact, contact.id).status == "restricted"  # type: ignore[union-attr]
    assert _actions(db_session, contact) == ["rights.restriction_notice"]
    session.close()
