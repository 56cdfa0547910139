"""Erasure (GDPR Art. 17, R43): the person's data leaves every table and Redis; only keyed hashes stay.

What remains is listed in the README ("What an erased contact leaves behind"): a contact stub without
personal data (so delivery counts and the audit trail keep their ids), the append-only consent ledger of
that stub (proof that past messages were lawful), the keyed-hash suppressions, and the rights register.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis import Redis
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from sender.channels.base import address_columns
from sender.config import Settings
from sender.db import rowcount, utcnow
from sender.enums import ContactStatus, DeliveryStatus, SkipReason, SuppressionReason, WebhookEvent
from sender.i18n import N_
from sender.models import (
    AddressChange,
    ConsentState,
    Contact,
    Delivery,
    Enrolment,
    ListMember,
    OutgoingEvent,
    TransactionalMessage,
)
from sender.services.accounts import organisation
from sender.services.audience import import_files
from sender.services.audience.contacts import suppress_addresses
from sender.services.engagement import retention as engagement_retention
from sender.services.errors import Conflict, NotConfigured, NotFound
from sender.services.messages import system_email
from sender.services.records import audit
from sender.services.webhooks import events

# Deliveries not yet handed to a transport: the worker's claim would skip them anyway (the gate refuses an
# erased contact); marking them now makes the campaign's counts say why.
PENDING = (DeliveryStatus.QUEUED,)
# The confirmation's outcome when the organisation has no sender address yet.
NOT_SENT = "not sent: no sender address is set"


@dataclass(frozen=True)
class ErasureResult:
    """What erasure did: whether a confirmation goes out, and how many rows and Redis keys it touched."""

    confirmation: str  # sent after commit / no email address / not requested / NOT_SENT
    deliveries_skipped: int
    redis_keys_removed: int


def _confirm(session: Session, settings: Settings, contact: Contact) -> str:
    """Tell the person their data is erased (R43): written while we still know the address, sent once committed.

    The message is built now and sent by this process after the unit of work commits (the address is gone
    from the database by then, so it cannot be a job): never from inside the write transaction, never for an
    erasure that rolls back.
    """
    if not contact.email:
        return "no email address"
    locale = organisation.language_for(session, settings, contact.locale)
    try:
        message = system_email.build(session, settings, "erasure_done", contact.email, locale)
    except NotConfigured:
        # The erasure itself must not wait on the organisation's settings (Art. 17): it goes ahead, and
        # the page says that no email follows.
        return NOT_SENT
    system_email.send_after_commit(session, settings, "erasure_done", message)
    return "sent after commit"


def scrub_redis(redis: Redis, needles: list[str]) -> int:
    """Delete every RQ job record that mentions one of the needles (addresses in provider errors)."""
    wanted = [n.encode() for n in needles if n]
    removed = 0
    if not wanted:
        return 0
    for key in redis.scan_iter(match=b"rq:job:*", count=500):
        if redis.type(key) != b"hash":
            continue
        values = redis.hgetall(key).values()
        if any(needle in value for value in values for needle in wanted):
            removed += int(redis.delete(key))
    return removed


def erase(
    session: Session,
    settings: Settings,
    contact: Contact,
    *,
    actor: str,
    redis: Redis | None = None,
    notify: bool = True,
) -> ErasureResult:
    """Erase one contact; the caller commits. The keyed hashes stay on the suppression list (R11)."""
    if contact.status == ContactStatus.ERASED:
        raise Conflict(N_("the contact is already erased"))
    confirmation = _confirm(session, settings, contact) if notify else "not requested"
    needles = [v for v in (contact.email, contact.phone, contact.first_name, contact.last_name) if v]
    suppress_addresses(session, contact, SuppressionReason.ERASURE)
    skipped = rowcount(
        session.execute(
            update(Delivery)
            .where(Delivery.contact_id == contact.id, Delivery.status.in_(PENDING))
            .values(status=DeliveryStatus.SKIPPED, reason=SkipReason.ERASED)
        )
    )
    # Provider answers can quote the address ("550 <jeanne@…> unknown"): they go with it.
    session.execute(
        update(Delivery).where(Delivery.contact_id == contact.id).values(last_error=None, provider_id=None)
    )
    session.execute(delete(ListMember).where(ListMember.contact_id == contact.id))
    # Clicks and opens keep counting, naming no one (their visitor key's salt is long gone or soon).
    engagement_retention.anonymise(session, contact.id)
    # Their passages through sequences go too; the steps' delivery rows were skipped above.
    session.execute(delete(Enrolment).where(Enrolment.contact_id == contact.id))
    # An uploaded file not yet committed (or deleted) may name the person: their rows leave it now.
    import_files.forget_person(session, contact.email, contact.phone, settings.default_phone_region)
    session.execute(delete(ConsentState).where(ConsentState.contact_id == contact.id))
    session.execute(delete(AddressChange).where(AddressChange.contact_id == contact.id))
    # Webhook events about the person (and their deliveries) go; contact.erased itself carries only the
    # public id and is not linked to the stub, so it stays to be delivered.
    session.execute(delete(OutgoingEvent).where(OutgoingEvent.contact_id == contact.id))
    # Transactional messages keep the templates asked for the person (an order number, a name): they go.
    session.execute(delete(TransactionalMessage).where(TransactionalMessage.contact_id == contact.id))
    events.emit(session, WebhookEvent.CONTACT_ERASED, {"contact": contact.public_id})
    for field in (
        *address_columns(), "first_name", "last_name",
        "locale", "country", "timezone", "source_detail", "last_interaction_at",
    ):  # fmt: skip
        setattr(contact, field, None)
    contact.attributes = {}
    contact.status = ContactStatus.ERASED
    contact.erased_at = utcnow()
    session.flush()
    removed = scrub_redis(redis, needles) if redis is not None else 0
    audit.record(
        session,
        actor,
        "rights.erase",
        "contact",
        contact.public_id,
        {"confirmation": confirmation, "deliveries_skipped": skipped, "redis_keys_removed": removed},
    )
    return ErasureResult(confirmation, skipped, removed)


def erase_by_id(session: Session, settings: Settings, contact_id: int, actor: str) -> ErasureResult:
    """Erase the contact with this id (admin button, retention); the caller commits."""
    contact = session.scalar(select(Contact).where(Contact.id == contact_id).with_for_update())
    if contact is None:
        raise NotFound(N_("no such contact"))
    return erase(session, settings, contact, actor=actor)
