"""Erasure (GDPR Art. 17) and restriction (Art. 18) of a contact.

Erasure nulls every personal field and keeps only keyed hashes on the suppression list, so that a later
import of an old file cannot bring the person back; the consent ledger keeps its events (proof of what
was done), attached to a contact row that no longer says who it was.
"""

from __future__ import annotations

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from sender.db import utcnow
from sender.models import Contact, ContactTag, Delivery, ListMember
from sender.services.audience.contacts import suppress
from sender.services.consent import ledger
from sender.services.errors import Conflict
from sender.services.records import audit

ERASED_REASON = "erased"


def erase(session: Session, contact: Contact, actor: str) -> None:
    """Withdraw everything, suppress the address hashes, null personal data; the caller commits."""
    if contact.status == "erased":
        raise Conflict("the contact is already erased")
    ledger.withdraw_everywhere(session, contact, source="admin", mechanism="erasure", actor=actor)
    for channel, digest in (("email", contact.email_hash), ("sms", contact.phone_hash)):
        if digest:
            suppress(session, digest, channel, ERASED_REASON)
    # Nothing queued may go out to a person who no longer exists here.
    session.execute(
        update(Delivery)
        .where(Delivery.contact_id == contact.id, Delivery.status == "queued")
        .values(status="skipped", reason="erased")
    )
    session.execute(delete(ListMember).where(ListMember.contact_id == contact.id))
    session.execute(delete(ContactTag).where(ContactTag.contact_id == contact.id))
    contact.email = contact.phone = contact.first_name = contact.last_name = None
    contact.locale = contact.country = contact.timezone = contact.source_detail = None
    contact.attributes = {}
    contact.status, contact.erased_at = "erased", utcnow()
    session.flush()
    audit.record(session, actor, "contact.erase", "contact", contact.public_id, {})


def restrict(session: Session, contact: Contact, actor: str) -> None:
    """Art. 18: keep the data but process it no further (the gate refuses every send)."""
    if contact.status != "active":
        raise Conflict(f"the contact is {contact.status}; only an active contact can be restricted")
    contact.status = "restricted"
    session.flush()
    audit.record(session, actor, "contact.restrict", "contact", contact.public_id, {})


def lift_restriction(session: Session, contact: Contact, actor: str) -> None:
    """End a restriction; sends again depend on consent alone."""
    if contact.status != "restricted":
        raise Conflict(f"the contact is {contact.status}, not restricted")
    contact.status = "active"
    session.flush()
    audit.record(session, actor, "contact.unrestrict", "contact", contact.public_id, {})
