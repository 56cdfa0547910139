"""Restriction of processing (GDPR Art. 18, R44): the data is only stored; no sends, no profiling.

The consent gate refuses any contact that is not active, so a restricted one is out of every audience and
every claim. Lifting it tells the person (Art. 18(3)): the notice is recorded with the lift and sent as soon
as the lift is committed.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from sender.config import Settings
from sender.enums import ContactStatus
from sender.i18n import pick_locale
from sender.models import Contact
from sender.services.errors import Conflict
from sender.services.messages import system_email
from sender.services.records import audit


def restrict(session: Session, contact: Contact, actor: str) -> None:
    """Restrict processing of an active contact; the caller commits."""
    if contact.status != ContactStatus.ACTIVE:
        raise Conflict(f"the contact is {contact.status}")
    contact.status = ContactStatus.RESTRICTED
    session.flush()
    audit.record(session, actor, "rights.restrict", "contact", contact.public_id)


def lift(session: Session, settings: Settings, contact: Contact, actor: str) -> str:
    """Lift a restriction, with the notice to the person; returns whether a notice goes out; the caller commits.

    The notice is recorded before the lift and sent as soon as the lift is committed (never from inside the
    write transaction, never for a lift that rolls back).
    """
    if contact.status != ContactStatus.RESTRICTED:
        raise Conflict(f"the contact is {contact.status}")
    notice = "no email address"
    if contact.email:
        locale = pick_locale(contact.locale, default=settings.default_locale)
        message = system_email.build(settings, "restriction_lift", contact.email, locale)
        system_email.send_after_commit(session, settings, "restriction_lift", message)
        notice = "sent after commit"
    audit.record(
        session, actor, "rights.restriction_notice", "contact", contact.public_id, {"notice": notice}
    )
    contact.status = ContactStatus.ACTIVE
    session.flush()
    audit.record(session, actor, "rights.restriction_lift", "contact", contact.public_id)
    return notice
