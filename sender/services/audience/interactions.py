"""Interactions that come from the person, and the retention clock they move (R47, R48).

Clicks on our links, replies, form submissions, portal visits, orders and log-ins move the contact's
`last_interaction_at`. Opens, deliveries and sends never do (CNIL: opening is not a contact from the
person). A click that comes within AUTOMATED_CLICK_SECONDS of its message's delivery looks like a mail
scanner following every link, and does not count either.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from sender.config import Settings
from sender.db import utcnow
from sender.enums import ContactStatus
from sender.i18n import N_
from sender.models import Contact, Delivery
from sender.services.errors import Conflict, ValidationFailed

COUNTED = ("click", "reply", "form", "portal_visit", "order", "login")
NOT_COUNTED = ("open", "delivery", "send")
KINDS = COUNTED + NOT_COUNTED


def too_soon(settings: Settings, sent_at: datetime | None, at: datetime) -> bool:
    """A click within AUTOMATED_CLICK_SECONDS of its message's delivery: a scanner, not the person (R57)."""
    return sent_at is not None and timedelta(0) <= at - sent_at < timedelta(
        seconds=settings.automated_click_seconds
    )


def record(
    session: Session,
    settings: Settings,
    contact: Contact,
    kind: str,
    *,
    at: datetime | None = None,
    delivery_id: int | None = None,
) -> str | None:
    """Move the clock for an interaction from the person; return why it did not count, or None if it did."""
    if kind not in KINDS:
        raise ValidationFailed({"kind": N_("must be one of %(choices)s", choices=", ".join(KINDS))})
    if contact.status == ContactStatus.ERASED:
        raise Conflict(N_("the contact is erased"))
    at = at or utcnow()
    if kind in NOT_COUNTED:
        return "not_from_the_person"
    if kind == "click" and delivery_id is not None:
        delivery = session.get(Delivery, delivery_id)
        if delivery is None or delivery.contact_id != contact.id:
            raise ValidationFailed({"delivery_id": N_("no such delivery for this contact")})
        if too_soon(settings, delivery.sent_at, at):
            return "automated"
    move_clock(session, contact.id, at)
    # Read again when next used: the UPDATE wrote the column, not the object.
    session.expire(contact, ["last_interaction_at"])
    return None


def move_clock(session: Session, contact_id: int, at: datetime) -> None:
    """Move the clock of one contact, known by id only, for an interaction from the person at `at`.

    The caller has already judged that the interaction counts (`record`, or a tracked click: not too soon
    after its delivery, tracking consent standing). One guarded UPDATE and no read: only forward (a late
    report of an old interaction must not rewind the clock), and never for an erased contact.
    """
    session.execute(
        update(Contact)
        .where(
            Contact.id == contact_id,
            Contact.status != ContactStatus.ERASED,
            or_(Contact.last_interaction_at.is_(None), Contact.last_interaction_at < at),
        )
        .values(last_interaction_at=at)
        .execution_options(synchronize_session=False)
    )


def clock(contact: Contact) -> datetime:
    """When the retention clock started: the last interaction from the person, else collection."""
    return contact.last_interaction_at or contact.created_at
