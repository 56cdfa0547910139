"""The system messages that the public pages ask for, sent by jobs: a portal link, and the links that
confirm a sign-up, an erasure or a corrected address.

Ids in, nothing personal in the job's payload. Each reads what it needs in a read-only session (no write
lock), then sends once that session is closed: no network call inside a transaction.
"""

from __future__ import annotations

from typing import Any

from sender import work
from sender.channels.base import get_channel
from sender.enums import ContactStatus
from sender.models import AddressChange, Contact
from sender.runtime import Runtime
from sender.services.accounts import organisation
from sender.services.consent.links import confirmation_token, portal_token, signup_token
from sender.services.messages import system_email
from sender.services.rights import confirmations

# Statuses a portal link may be sent to: an erased (or vanished) contact is skipped.
PORTAL_STATUSES = (ContactStatus.ACTIVE, ContactStatus.RESTRICTED)
UNREACHABLE = {"skipped": "not reachable"}


def portal_link(runtime: Runtime, contact_id: int) -> dict[str, Any]:
    """Email a fresh privacy-portal link to the contact's own address (R36)."""
    with work.reading(runtime.Session) as session:
        contact = session.get(Contact, contact_id)
        if contact is None or contact.status not in PORTAL_STATUSES or not contact.email:
            return UNREACHABLE
        url = f"{runtime.settings.public_base_url}/p/{portal_token(runtime.tokens, contact.public_id)}"
        locale = organisation.language_for(session, runtime.settings, contact.locale)
        sending = organisation.effective_settings(session, runtime.settings)
        message = system_email.build(
            session, runtime.settings, "portal_link", contact.email, locale,
            portal_url=url, hours=runtime.settings.portal_link_ttl // 3600,
        )  # fmt: skip
    return {"outcome": system_email.send(sending, message).outcome}


def signup_confirmation(
    runtime: Runtime, contact_id: int | None, wording_ids: list[int], channel: str
) -> dict[str, Any]:
    """Send the double opt-in confirmation link of a sign-up or a portal grant (no advertising, R53) to the
    address on its channel, if it asks anything."""
    if contact_id is None or not wording_ids:
        # Known and confirmed, suppressed, or over the address's hourly allowance: queued all the same.
        return {"skipped": "nothing to confirm"}
    target = get_channel(channel)
    with work.reading(runtime.Session) as session:
        contact = session.get(Contact, contact_id)
        address = target.address.of(contact) if contact is not None else None
        if contact is None or contact.status == ContactStatus.ERASED or address is None:
            return UNREACHABLE
        if not confirmations.usable(organisation.effective_settings(session, runtime.settings), target):
            return {"skipped": "no channel"}
        token = signup_token(runtime.tokens, contact.public_id, wording_ids, channel)
        locale = organisation.language_for(session, runtime.settings, contact.locale)
        send = confirmations.compose(session, runtime.settings, target, address, locale, "signup", token)
    return {"outcome": send()}


def erasure_confirmation(runtime: Runtime, contact_id: int) -> dict[str, Any]:
    """Send the one-use link confirming an erasure to the person's own address (email, else SMS)."""
    with work.reading(runtime.Session) as session:
        contact = session.get(Contact, contact_id)
        if contact is None or contact.status not in PORTAL_STATUSES:
            return UNREACHABLE
        channel = confirmations.reachable(organisation.effective_settings(session, runtime.settings), contact)
        address = channel.address.of(contact) if channel is not None else None
        if channel is None or address is None:
            return UNREACHABLE
        token = confirmation_token(runtime.tokens, "erase", contact.public_id)
        locale = organisation.language_for(session, runtime.settings, contact.locale)
        send = confirmations.compose(session, runtime.settings, channel, address, locale, "erase", token)
    return {"outcome": send()}


def address_confirmation(runtime: Runtime, change_id: int) -> dict[str, Any]:
    """Send the link confirming a corrected address to that new address, over its own channel."""
    with work.reading(runtime.Session) as session:
        change = session.get(AddressChange, change_id)
        contact = session.get(Contact, change.contact_id) if change is not None else None
        if change is None or contact is None or contact.status not in PORTAL_STATUSES:
            return UNREACHABLE
        channel = confirmations.channel_for(
            organisation.effective_settings(session, runtime.settings), change.field
        )
        if channel is None:
            return {"skipped": "no channel"}
        address, jti = change.value, change.jti
        token = confirmation_token(runtime.tokens, "address", contact.public_id, jti)
        locale = organisation.language_for(session, runtime.settings, contact.locale)
        send = confirmations.compose(session, runtime.settings, channel, address, locale, "address", token)
    return {"outcome": send()}
