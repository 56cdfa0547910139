"""The right of access (GDPR Art. 15, R40): a copy of the data and every piece of information the article lists.

Everything comes from the register (purposes with their legal basis, data categories, processors, transfers
and retention) and from the contact's own records; nothing is written by hand for one person.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.channels.base import Channel as ChannelType
from sender.channels.base import channels, get_channel
from sender.config import Settings
from sender.enums import Channel
from sender.models import (
    ConsentEvent,
    ConsentWording,
    Contact,
    Enrolment,
    ListMember,
    OutgoingEvent,
    Purpose,
    Sequence,
    TransactionalMessage,
    WebhookDelivery,
    WebhookEndpoint,
)
from sender.models.contacts import ContactList
from sender.services.accounts import organisation
from sender.services.engagement import retention as engagement_retention
from sender.services.records import processors
from sender.services.rights import requests

CNIL = {
    "authority": "Commission nationale de l'informatique et des libertés (CNIL)",
    "address": "3 place de Fontenoy, TSA 80715, 75334 Paris Cedex 07, France",
    "url": "https://www.cnil.fr/fr/plaintes",
}
RIGHTS = ("access", "rectification", "erasure", "restriction", "portability", "objection", "withdraw_consent")


def personal_data(contact: Contact) -> dict[str, Any]:
    """The data we hold on the person, field by field."""
    return {
        "id": contact.public_id,
        "email": contact.email,
        "phone": contact.phone,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "locale": contact.locale,
        "country": contact.country,
        "timezone": contact.timezone,
        "attributes": dict(contact.attributes or {}),
        "status": contact.status,
        "created_at": contact.created_at.isoformat(),
        "last_interaction_at": contact.last_interaction_at.isoformat()
        if contact.last_interaction_at
        else None,
    }


def consent_history(session: Session, contact: Contact) -> list[dict[str, Any]]:
    """Every consent event, with the wording shown, oldest first."""
    rows = session.execute(
        select(ConsentEvent, Purpose.slug, ConsentWording)
        .join(Purpose, Purpose.id == ConsentEvent.purpose_id)
        .outerjoin(ConsentWording, ConsentWording.id == ConsentEvent.wording_id)
        .where(ConsentEvent.contact_id == contact.id)
        .order_by(ConsentEvent.id)
    )
    return [
        {
            "purpose": slug,
            "channel": event.channel,
            "action": event.action,
            "occurred_at": event.occurred_at.isoformat(),
            "source": event.source,
            "mechanism": event.mechanism,
            "wording_version": wording.version if wording else None,
            "wording_text": wording.text if wording else None,
        }
        for event, slug, wording in rows
    ]


def _purpose(purpose: Purpose) -> dict[str, Any]:
    return {
        "slug": purpose.slug,
        "name": purpose.name,
        "description": purpose.description,
        "legal_basis": purpose.legal_basis,
        "data_categories": list(purpose.data_categories or []),
        "recipients": list(purpose.processors or []),
        "transfers_outside_eea": list(purpose.transfers or []),
        "retention_days": purpose.retention_days,
    }


def _processors(
    session: Session, settings: Settings, reached: list[ChannelType]
) -> tuple[list[dict[str, str]], list[str], list[str]]:
    """Recipients, transfers outside the EEA and their safeguards, from the processors inventory.

    A channel whose provider is not in use (the local outbox, SMS not configured) is named by its default
    facts; processors not tied to a channel (hosting) serve everyone.
    """
    recipients: list[dict[str, str]] = []
    abroad: list[str] = []
    safeguards: list[str] = []
    for channel in reached:
        entry = processors.channel_entry(session, settings, channel)
        if entry is None:
            recipients.append(channel.processor.recipient())
            if channel.processor.transfer:
                abroad.append(channel.processor.transfer)
                safeguards.append(channel.processor.safeguards)
            continue
        recipients.append(entry.recipient())
        if entry.outside_eea:
            abroad.append(f"{entry.name}, {entry.country}")
            safeguards.append(entry.recipient()["safeguards"])
    for entry in processors.inventory(session, settings):
        if entry.channel is None:
            recipients.append(entry.recipient())
            if entry.outside_eea:
                abroad.append(f"{entry.name}, {entry.country}")
                safeguards.append(entry.recipient()["safeguards"])
    return recipients, abroad, safeguards


def webhook_deliveries(session: Session, contact: Contact) -> list[dict[str, Any]]:
    """Events about the person sent (or waiting) to other systems by outgoing webhooks: what, to whom, when."""
    rows = session.execute(
        select(
            OutgoingEvent.event_type, OutgoingEvent.created_at, WebhookEndpoint.url, WebhookDelivery.status
        )
        .join(WebhookDelivery, WebhookDelivery.event_id == OutgoingEvent.id)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(OutgoingEvent.contact_id == contact.id)
        .order_by(OutgoingEvent.id, WebhookDelivery.id)
    )
    return [
        {"event": kind, "at": at.isoformat(), "recipient": urlsplit(url).hostname or "", "status": status}
        for kind, at, url, status in rows
    ]


def transactional_messages(session: Session, contact: Contact) -> list[dict[str, Any]]:
    """Transactional messages sent to the person (contract, legal obligation): when, why, how it went."""
    rows = session.execute(
        select(TransactionalMessage.created_at, Purpose.name, TransactionalMessage.status)
        .join(Purpose, Purpose.id == TransactionalMessage.purpose_id)
        .where(TransactionalMessage.contact_id == contact.id)
        .order_by(TransactionalMessage.id)
    )
    return [{"at": at.isoformat(), "purpose": name, "status": status} for at, name, status in rows]


def sequence_memberships(session: Session, contact: Contact) -> list[dict[str, Any]]:
    """The person's passages through sequences: which, where they stand, since when, how they ended."""
    rows = session.execute(
        select(Sequence.name, Enrolment)
        .join(Sequence, Sequence.id == Enrolment.sequence_id)
        .where(Enrolment.contact_id == contact.id)
        .order_by(Enrolment.id)
    ).all()
    return [
        {
            "sequence": name,
            "status": enrolment.status,
            "steps_done": enrolment.step,
            "entered_at": enrolment.entered_at.isoformat(),
            "ended_at": enrolment.ended_at.isoformat() if enrolment.ended_at else None,
            "exit_reason": enrolment.exit_reason,
        }
        for name, enrolment in rows
    ]


def report(session: Session, settings: Settings, contact: Contact) -> dict[str, Any]:
    """The complete Art. 15 report of one person; no section is ever empty."""
    purpose_rows = [_purpose(p) for p in session.scalars(select(Purpose).order_by(Purpose.id))]
    lists = list(
        session.scalars(
            select(ContactList.name)
            .join(ListMember, ListMember.list_id == ContactList.id)
            .where(ListMember.contact_id == contact.id)
        )
    )
    categories = sorted({c for p in purpose_rows for c in p["data_categories"]}) or [
        "identification and contact details (email address, phone number, name)",
        "consent records",
    ]
    # The processors the software itself hands the person's data to: those of the channels they have an
    # address for (R40: the relay and Twilio, with countries); email's when none, so no section is empty.
    reached = [ch for ch in channels() if ch.address.of(contact)] or [get_channel(Channel.EMAIL)]
    settings = organisation.effective_settings(session, settings)
    recipients, abroad, safeguards = _processors(session, settings, reached)
    return {
        "controller": {
            "name": settings.org_name,
            "address": settings.org_address,
            "contact": settings.org_contact_email,
            "dpo": settings.dpo_contact or settings.org_contact_email,
        },
        "personal_data": personal_data(contact),
        "lists": lists,
        "consents": consent_history(session, contact),
        # Only events measured per person, with tracking consent; aggregate counts name no one.
        "tracking": engagement_retention.own_events(session, contact.id),
        "sequences": sequence_memberships(session, contact),
        "purposes": purpose_rows,
        "data_categories": categories,
        "recipients": recipients
        + [{"name": r, "role": "declared in the register"} for p in purpose_rows for r in p["recipients"]],
        "transfers": {
            "outside_eea": sorted({t for p in purpose_rows for t in p["transfers_outside_eea"]}) + abroad,
            "safeguards": "; ".join(dict.fromkeys(safeguards))
            or "none needed: no transfer outside the EEA is declared",
        },
        "retention": {
            "rule": "kept while a purpose needs it, then erased; prospects are asked again after 3 years "
            "without contact (CNIL)",
            "per_purpose_days": {p["slug"]: p["retention_days"] for p in purpose_rows},
        },
        "source": {
            "collected": contact.source,
            "detail": contact.source_detail or "collected from you",
        },
        "automated_decisions": "none: no decision producing legal or similarly significant effects is "
        "made by automated means (GDPR Art. 22)",
        "rights": list(RIGHTS),
        "complaint": CNIL,
        "requests": [
            {"kind": r.kind, "received_at": r.received_at.isoformat(), "status": r.status}
            for r in requests.for_contact(session, contact.id)
        ],
        "transactional_messages": transactional_messages(session, contact),
        "webhook_deliveries": webhook_deliveries(session, contact),
    }
