"""Rectification (GDPR Art. 16, R42): the person corrects their data; pending messages use the new values.

Deliveries are rendered from the contact row when a worker claims them, so a correction committed before
the claim is what the message carries. A new address is different: it is kept aside (`address_changes`)
until it is confirmed from that address, through a link sent over its own channel; until then the contact
keeps the old address, and nothing is sent to the new one. Art. 19: the recipients of the data are recorded
as notified.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from sender.config import Settings
from sender.db import rowcount, utcnow
from sender.i18n import LOCALES, N_
from sender.models import AddressChange, Contact, Purpose
from sender.services.accounts import organisation
from sender.services.audience import contacts
from sender.services.audience.contacts import address_fields, normalise_addresses, suppressed_channels
from sender.services.consent.links import new_jti
from sender.services.errors import Conflict, ValidationFailed
from sender.services.records import audit
from sender.services.rights import confirmations, requests

# What a person may correct themselves; anything else goes through a request to the DPO.
FIELDS = ("first_name", "last_name", "email", "phone", "locale")
# Saying why an address is refused would tell the person about someone else's.
REFUSED = N_("this address cannot be used here; write to us to change it")
UNCONFIRMABLE = N_("we cannot confirm this address from here; write to us to change it")


@dataclass(frozen=True)
class Rectified:
    """What a correction did: the fields changed now, and the new addresses waiting for confirmation."""

    changed: list[str]
    pending: list[AddressChange]


def _notify_recipients(session: Session, contact: Contact, fields: list[str], actor: str) -> None:
    recipients = sorted({p for row in session.scalars(select(Purpose.processors)) for p in row or []})
    audit.record(
        session,
        actor,
        "rights.rectification_notified",
        "contact",
        contact.public_id,
        {"fields": sorted(fields), "recipients": recipients},
    )


def _hold(
    session: Session, settings: Settings, contact: Contact, field: str, raw: str
) -> AddressChange | None:
    """Keep a new address aside until it is confirmed; None when it is the address already held."""
    addresses = normalise_addresses(settings, {field: raw})
    value = addresses.values[field]
    if value is None or value == getattr(contact, field):
        return None
    taken = session.scalar(
        select(Contact.id).where(getattr(Contact, field) == value, Contact.id != contact.id)
    )
    if taken is not None or suppressed_channels(session, addresses):
        raise ValidationFailed({field: REFUSED})
    if confirmations.channel_for(organisation.effective_settings(session, settings), field) is None:
        raise ValidationFailed({field: UNCONFIRMABLE})
    # A newer correction replaces an older one: the older link confirms nothing any more.
    session.execute(
        delete(AddressChange).where(AddressChange.contact_id == contact.id, AddressChange.field == field)
    )
    change = AddressChange(contact_id=contact.id, field=field, value=value, jti=new_jti())
    session.add(change)
    session.flush()
    return change


def rectify(
    session: Session, settings: Settings, contact: Contact, data: Mapping[str, Any], actor: str
) -> Rectified:
    """Apply the corrections that differ from what we hold, and hold new addresses for confirmation."""
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise ValidationFailed({name: N_("cannot be changed here") for name in unknown})
    changes: dict[str, Any] = {}
    addresses: dict[str, str] = {}
    for name, raw in data.items():
        value = raw.strip() if isinstance(raw, str) else raw
        value = value or None
        if name in address_fields():
            if value is None and getattr(contact, name):
                raise ValidationFailed({name: N_("cannot be emptied here; ask for erasure instead")})
            if value is not None:
                addresses[name] = value
            continue
        if name == "locale" and value is not None and value not in LOCALES:
            raise ValidationFailed({"locale": N_("must be one of %(choices)s", choices=", ".join(LOCALES))})
        if value != getattr(contact, name):
            changes[name] = value
    pending = [c for c in (_hold(session, settings, contact, f, v) for f, v in addresses.items()) if c]
    if changes:
        contacts.update(session, settings, contact, changes, actor)
        _notify_recipients(session, contact, list(changes), actor)
    return Rectified(sorted(changes), pending)


def from_portal(
    session: Session, settings: Settings, contact: Contact, data: Mapping[str, Any], actor: str
) -> Rectified:
    """rectify(), asked and answered in the privacy portal: the register keeps the request and what it did."""
    result = rectify(session, settings, contact, data, actor)
    outcome = f"corrected: {', '.join(result.changed) or 'nothing'}"
    if result.pending:
        waiting = ", ".join(change.field for change in result.pending)
        outcome += f"; awaiting confirmation from the new address: {waiting}"
    requests.record_completed(session, contact, "rectification", outcome, actor)
    return result


def pending_change(session: Session, contact: Contact, jti: str) -> AddressChange | None:
    """The address change a confirmation link names, if it is still the latest for its field."""
    return session.scalar(
        select(AddressChange).where(AddressChange.contact_id == contact.id, AddressChange.jti == jti)
    )


def confirm_address(
    session: Session, settings: Settings, contact: Contact, change: AddressChange, actor: str
) -> str:
    """The new address was confirmed from itself: the contact uses it from now on; returns the field."""
    field = change.field
    try:
        contacts.update(session, settings, contact, {field: change.value}, actor)
    except Conflict:
        raise ValidationFailed({field: REFUSED}) from None
    session.delete(change)
    session.flush()
    _notify_recipients(session, contact, [field], actor)
    return field


def forget_unconfirmed(session: Session, settings: Settings) -> int:
    """Delete new addresses whose confirmation link has expired (they are personal data); the caller commits."""
    cutoff = utcnow() - timedelta(seconds=settings.portal_link_ttl + 60)
    return rowcount(session.execute(delete(AddressChange).where(AddressChange.created_at < cutoff)))
