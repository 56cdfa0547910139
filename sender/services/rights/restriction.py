"""Restriction of processing (GDPR Art. 18, R44): the data is only stored; no sends, no profiling.

The consent gate refuses any contact that is not active, so a restricted one is out of every audience and
every claim. Lifting it tells the person first (Art. 18(3)): the notice leaves after the request's unit has
committed, and the contact turns active again only once the notice is sent.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session, sessionmaker

from sender import work
from sender.config import Settings
from sender.enums import ContactStatus, WebhookEvent
from sender.i18n import N_
from sender.models import Contact
from sender.services.accounts import organisation
from sender.services.errors import Conflict
from sender.services.messages import system_email
from sender.services.records import audit
from sender.services.rights import requests
from sender.services.webhooks import events

log = logging.getLogger(__name__)


def restrict(session: Session, contact: Contact, actor: str) -> None:
    """Restrict processing of an active contact; the caller commits."""
    if contact.status != ContactStatus.ACTIVE:
        raise Conflict(N_("the contact is %(status)s", status=contact.status))
    contact.status = ContactStatus.RESTRICTED
    session.flush()
    audit.record(session, actor, "rights.restrict", "contact", contact.public_id)
    events.emit(
        session, WebhookEvent.CONTACT_RESTRICTED, {"contact": contact.public_id}, contact_id=contact.id
    )


def from_portal(session: Session, contact: Contact, actor: str) -> None:
    """restrict(), asked and answered in the privacy portal: the register keeps the request and what it did."""
    restrict(session, contact, actor)
    requests.record_completed(session, contact, "restriction", "processing restricted", actor)


def lift(session: Session, settings: Settings, contact: Contact, actor: str) -> str:
    """Lift a restriction, telling the person first (Art. 18(3)); returns how the notice goes.

    The notice is recorded in the caller's unit. Once that unit has committed, outside any write
    transaction, the notice is sent; only when the relay has taken it is the contact made active again,
    in a unit of its own. A notice that cannot be sent leaves the restriction in place (and is logged).
    """
    if contact.status != ContactStatus.RESTRICTED:
        raise Conflict(N_("the contact is %(status)s", status=contact.status))
    if not contact.email:
        _notice(session, contact, actor, "no email address")
        _make_active(session, contact, actor)
        return "no email address"
    locale = organisation.language_for(session, settings, contact.locale)
    message = system_email.build(session, settings, "restriction_lift", contact.email, locale)
    _notice(session, contact, actor, "sent before the lift")
    factory = sessionmaker(bind=session.get_bind(), expire_on_commit=False)
    contact_id = contact.id
    sending = organisation.effective_settings(session, settings)

    def notify_then_lift() -> None:
        outcome = system_email.send(sending, message).outcome
        if outcome != "sent":
            log.warning("restriction of contact %s kept: its notice was not sent (%s)", contact_id, outcome)
            return
        with work.unit(factory, "restriction lift") as lifting:
            found = lifting.get(Contact, contact_id)
            if found is not None and found.status == ContactStatus.RESTRICTED:
                _make_active(lifting, found, actor)
        session.expire(contact)

    work.after_commit(session, "restriction lift", notify_then_lift)
    return "sent before the lift"


def _notice(session: Session, contact: Contact, actor: str, notice: str) -> None:
    audit.record(
        session, actor, "rights.restriction_notice", "contact", contact.public_id, {"notice": notice}
    )


def _make_active(session: Session, contact: Contact, actor: str) -> None:
    contact.status = ContactStatus.ACTIVE
    session.flush()
    audit.record(session, actor, "rights.restriction_lift", "contact", contact.public_id)
