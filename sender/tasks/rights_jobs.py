"""RQ jobs sending system emails for the public pages: ids in, nothing personal in the payload.

Each reads what it needs in a read-only session (no write lock), then sends with no transaction open.
"""

from __future__ import annotations

from typing import Any

from flask import current_app

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


def _runtime() -> Runtime:
    runtime: Runtime = current_app.extensions["sender"]
    return runtime


def send_portal_link(contact_id: int) -> dict[str, Any]:
    """Email a fresh privacy-portal link to the contact's own address (R36)."""
    runtime = _runtime()
    with work.reading(runtime.Session) as session:
        contact = session.get(Contact, contact_id)
        if contact is None or contact.status not in PORTAL_STATUSES or not contact.email:
            return {"skipped": "not reachable"}
        url = f"{runtime.settings.public_base_url}/p/{portal_token(runtime.tokens, contact.public_id)}"
        locale = organisation.language_for(session, runtime.settings, contact.locale)
        sending = organisation.effective_settings(session, runtime.settings)
        message = system_email.build(
            session, runtime.settings, "portal_link", contact.email, locale,
            portal_url=url, hours=runtime.settings.portal_link_ttl // 3600,
        )  # fmt: skip
    return {"outcome": system_email.send(sending, message).outcome}


def send_signup_confirmation(
    contact_id: int | None, wording_ids: list[int], channel: str = "email"
) -> dict[str, Any]:
    """Send the double opt-in confirmation link of a sign-up (no advertising, R53), on its channel, if it
    asks anything."""
    if contact_id is None or not wording_ids:
        # Known and confirmed, suppressed, or over the address's hourly allowance: queued all the same.
        return {"skipped": "nothing to confirm"}
    runtime = _runtime()
    if channel != "email":
        return _confirm_grant_elsewhere(runtime, contact_id, [int(w) for w in wording_ids], channel)
    with work.reading(runtime.Session) as session:
        contact = session.get(Contact, contact_id)
        if contact is None or contact.status == ContactStatus.ERASED or not contact.email:
            return {"skipped": "not reachable"}
        token = signup_token(runtime.tokens, contact.public_id, [int(w) for w in wording_ids])
        locale = organisation.language_for(session, runtime.settings, contact.locale)
        sending = organisation.effective_settings(session, runtime.settings)
        message = system_email.build(
            session, runtime.settings, "signup_confirm", contact.email, locale,
            confirm_url=f"{runtime.settings.public_base_url}/signup/confirm/{token}",
            days=runtime.settings.signup_ttl_days,
        )  # fmt: skip
    return {"outcome": system_email.send(sending, message).outcome}


def send_erasure_confirmation(contact_id: int) -> dict[str, Any]:
    """Send the one-use link confirming an erasure to the person's own address (email, else SMS)."""
    runtime = _runtime()
    with work.reading(runtime.Session) as session:
        contact = session.get(Contact, contact_id)
        if contact is None or contact.status not in PORTAL_STATUSES:
            return {"skipped": "not reachable"}
        channel = confirmations.reachable(organisation.effective_settings(session, runtime.settings), contact)
        address = channel.address.of(contact) if channel is not None else None
        if channel is None or address is None:
            return {"skipped": "not reachable"}
        token = confirmation_token(runtime.tokens, "erase", contact.public_id)
        locale = organisation.language_for(session, runtime.settings, contact.locale)
        send = confirmations.compose(session, runtime.settings, channel, address, locale, "erase", token)
    return {"outcome": send()}


def send_address_confirmation(change_id: int) -> dict[str, Any]:
    """Send the link confirming a corrected address to that new address, over its own channel."""
    runtime = _runtime()
    with work.reading(runtime.Session) as session:
        change = session.get(AddressChange, change_id)
        contact = session.get(Contact, change.contact_id) if change is not None else None
        if change is None or contact is None or contact.status not in PORTAL_STATUSES:
            return {"skipped": "not reachable"}
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


def _confirm_grant_elsewhere(
    runtime: Runtime, contact_id: int, wording_ids: list[int], channel: str
) -> dict[str, Any]:
    """Text the confirmation link of a portal grant on another channel than email (SMS) to that address."""
    target = get_channel(channel)
    with work.reading(runtime.Session) as session:
        contact = session.get(Contact, contact_id)
        address = target.address.of(contact) if contact is not None else None
        if contact is None or contact.status == ContactStatus.ERASED or address is None:
            return {"skipped": "not reachable"}
        if not confirmations.usable(organisation.effective_settings(session, runtime.settings), target):
            return {"skipped": "no channel"}
        token = signup_token(runtime.tokens, contact.public_id, wording_ids, channel)
        locale = organisation.language_for(session, runtime.settings, contact.locale)
        send = confirmations.compose(session, runtime.settings, target, address, locale, "signup", token)
    return {"outcome": send()}
