"""Bounces and complaints, whichever door they came through: one service applies their effects, once.

- a hard bounce marks its delivery `bounced` and suppresses the address (keyed hash);
- a soft bounce is counted; SOFT_BOUNCE_LIMIT of them within 15 days, with no message accepted in between,
  suppress the address;
- a complaint withdraws every marketing consent on email in the ledger (source and mechanism `complaint`,
  the report's id as proof: the history, the Art. 15 report and the proof of honouring show it) and
  suppresses the address;
- a report naming an unknown delivery, an erased contact or an address not on file changes nothing;
- a report applied once is recognised by the keyed hash of its id, and a delivery takes each kind once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import Table, exists, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from sender import metrics, work
from sender.addresses import AddressError, address_hash, normalize_email
from sender.channels.email.render import sender_domain
from sender.config import Settings
from sender.db import utcnow
from sender.enums import (
    Channel,
    ConsentSource,
    ConsentStatus,
    ContactStatus,
    DeliveryStatus,
    FeedbackKind,
    SuppressionReason,
    WebhookEvent,
)
from sender.models import Campaign, ConsentState, Contact, Delivery, DeliveryFeedback, Purpose
from sender.services.audience.contacts import suppress
from sender.services.consent import withdrawal
from sender.services.records import audit
from sender.services.webhooks import events

ACTOR = "bounces"
# Soft bounces count within this window (issue 18: 15 days without a success in between).
SOFT_BOUNCE_WINDOW = timedelta(days=15)
# Doors that read the same messages: a DSN forwarded to the SMTP door may also sit in the IMAP mailbox.
_FAMILY = {"imap": "mail", "smtp": "mail"}
# A hard bounce may follow a message the relay accepted, or one whose answer was lost.
_BOUNCEABLE = (DeliveryStatus.SENT, DeliveryStatus.UNKNOWN)
_SUPPRESSION = {
    FeedbackKind.HARD_BOUNCE: SuppressionReason.HARD_BOUNCE,
    FeedbackKind.SOFT_BOUNCE: SuppressionReason.SOFT_BOUNCE,
    FeedbackKind.COMPLAINT: SuppressionReason.COMPLAINT,
}


class Outcome(StrEnum):
    """What applying a report did."""

    APPLIED = "applied"
    DUPLICATE = "duplicate"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Feedback:
    """One bounce or complaint report as a door read it: ids and a diagnostic code, never personal data."""

    kind: FeedbackKind
    # The provider's or the message's unique id: the same id twice is the same report.
    report_id: str
    # The door: "imap", "smtp", "ses", "sendgrid", "mailgun", "postmark", "brevo".
    source: str
    # From the VERP token, or a provider's message id or metadata.
    delivery_id: int | None
    # Only when the door gives an address and no delivery: matched by keyed hash, never stored.
    address: str | None = None
    # A short diagnostic code such as "5.1.1".
    detail: str = ""


def report_key(settings: Settings, source: str, report_id: str) -> str:
    """The keyed hash a report is recognised by: its door's family and its id."""
    return address_hash(settings.hash_key, f"{_FAMILY.get(source, source)}:{report_id}")


def apply(session: Session, settings: Settings, feedback: Feedback) -> Outcome:
    """Apply one report's effects unless it was applied before; the caller commits.

    `settings` are the effective settings (organisation.effective_settings): their EMAIL_FROM names the
    sending domain the report is counted against.
    """
    try:
        with session.begin_nested():
            return _apply(session, settings, feedback)
    except IntegrityError:
        # A concurrent door wrote the same report (or the same suppression) meanwhile: only this report's
        # writes are undone, and applied again it finds that one.
        return _apply(session, settings, feedback)


def _apply(session: Session, settings: Settings, feedback: Feedback) -> Outcome:
    delivery, contact = _target(session, settings, feedback)
    if contact is None or contact.status == ContactStatus.ERASED:
        return Outcome.UNKNOWN
    now = utcnow()
    recorded = _record(
        session,
        {
            "delivery_id": delivery.id if delivery else None,
            "campaign_id": delivery.campaign_id if delivery else None,
            "contact_id": contact.id,
            "kind": feedback.kind.value,
            "source": feedback.source[:16],
            "report_key": report_key(settings, feedback.source, feedback.report_id),
            "sending_domain": sender_domain(settings)[:255],
            "detail": feedback.detail[:32],
            "received_at": now,
        },
    )
    if not recorded:
        # This report was applied before, or another one (another door, another id) already told this
        # delivery's fate of this kind.
        return Outcome.DUPLICATE
    if feedback.kind == FeedbackKind.HARD_BOUNCE:
        _hard_bounce(session, delivery, contact)
    elif feedback.kind == FeedbackKind.SOFT_BOUNCE:
        _soft_bounce(session, settings, contact, now)
    else:
        _complaint(session, contact, feedback, delivery.campaign_id if delivery else None)
    audit.record(
        session,
        ACTOR,
        f"deliverability.{feedback.kind}",
        "contact",
        contact.public_id,
        {"delivery_id": delivery.id if delivery else None, "source": feedback.source[:16]},
    )
    events.emit(
        session,
        WebhookEvent.DELIVERY_COMPLAINED
        if feedback.kind == FeedbackKind.COMPLAINT
        else WebhookEvent.DELIVERY_BOUNCED,
        {
            "contact": contact.public_id,
            "delivery": delivery.id if delivery else None,
            "campaign": delivery.campaign_id if delivery else None,
            "kind": feedback.kind.value,
        },
        contact_id=contact.id,
    )
    kind = feedback.kind
    work.after_commit(session, "feedback metrics", lambda: metrics.feedback_received("email", kind))
    return Outcome.APPLIED


def _record(session: Session, values: dict[str, Any]) -> bool:
    """Insert the report's row unless its key or its (delivery, kind) is there already; True if inserted.

    One statement, checked by the unique constraints, so two doors racing on one report queue on the index.
    """
    table = cast(Table, DeliveryFeedback.__table__)
    module: Any = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = module.insert(table).values(values).on_conflict_do_nothing().returning(table.c.id)
    return session.execute(stmt).scalar_one_or_none() is not None


def _target(
    session: Session, settings: Settings, feedback: Feedback
) -> tuple[Delivery | None, Contact | None]:
    """The email delivery and the contact a report names; (None, None) when it names nothing we know."""
    if feedback.delivery_id is not None:
        found = session.execute(
            select(Delivery, Contact)
            .join(Contact, Contact.id == Delivery.contact_id)
            .join(Campaign, Campaign.id == Delivery.campaign_id)
            .where(Delivery.id == feedback.delivery_id, Campaign.channel == Channel.EMAIL)
        ).one_or_none()
        return (found[0], found[1]) if found is not None else (None, None)
    if not feedback.address:
        return None, None
    try:
        normalised = normalize_email(feedback.address, "address")
    except AddressError:
        return None, None
    digest = address_hash(settings.hash_key, normalised)
    return None, session.scalar(select(Contact).where(Contact.email_hash == digest))


def _suppress(session: Session, contact: Contact, reason: str) -> None:
    if contact.email_hash:
        suppress(session, contact.email_hash, Channel.EMAIL, reason)


def _hard_bounce(session: Session, delivery: Delivery | None, contact: Contact) -> None:
    if delivery is not None and delivery.status in _BOUNCEABLE:
        delivery.status = DeliveryStatus.BOUNCED
    _suppress(session, contact, _SUPPRESSION[FeedbackKind.HARD_BOUNCE])


def soft_bounces_in_a_row(session: Session, contact_id: int, now: datetime) -> int:
    """Soft bounces of a contact within the window, since the last message accepted without any report."""
    reported = aliased(DeliveryFeedback)
    last_success = (
        select(func.max(Delivery.sent_at))
        .where(
            Delivery.contact_id == contact_id,
            Delivery.status == DeliveryStatus.SENT,
            ~exists().where(reported.delivery_id == Delivery.id),
        )
        .scalar_subquery()
    )
    # A report naming only an address counts from when it arrived; one naming a delivery, from its sending.
    moment = func.coalesce(Delivery.sent_at, DeliveryFeedback.received_at)
    count = session.scalar(
        select(func.count(DeliveryFeedback.id))
        .select_from(DeliveryFeedback)
        .outerjoin(Delivery, Delivery.id == DeliveryFeedback.delivery_id)
        .where(
            DeliveryFeedback.contact_id == contact_id,
            DeliveryFeedback.kind == FeedbackKind.SOFT_BOUNCE,
            DeliveryFeedback.received_at >= now - SOFT_BOUNCE_WINDOW,
            or_(last_success.is_(None), moment > last_success),
        )
    )
    return int(count or 0)


def _soft_bounce(session: Session, settings: Settings, contact: Contact, now: datetime) -> None:
    if soft_bounces_in_a_row(session, contact.id, now) >= settings.deliverability.soft_bounce_limit:
        _suppress(session, contact, _SUPPRESSION[FeedbackKind.SOFT_BOUNCE])


def _complaint(session: Session, contact: Contact, feedback: Feedback, campaign_id: int | None) -> None:
    """Withdraw every marketing consent on email that is not withdrawn yet, then suppress the address."""
    pairs = session.execute(
        select(Purpose, ConsentState.status)
        .join(ConsentState, ConsentState.purpose_id == Purpose.id)
        .where(ConsentState.contact_id == contact.id, ConsentState.channel == Channel.EMAIL)
        .order_by(Purpose.id)
    ).all()
    for purpose, status in pairs:
        if status == ConsentStatus.WITHDRAWN:
            continue
        withdrawal.withdraw(
            session,
            contact,
            purpose,
            Channel.EMAIL,
            source=ConsentSource.COMPLAINT,
            mechanism="complaint",
            campaign_id=campaign_id,
            evidence={"report_id": feedback.report_id},
        )
    _suppress(session, contact, _SUPPRESSION[FeedbackKind.COMPLAINT])
