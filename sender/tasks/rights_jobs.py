"""RQ jobs sending system emails for the public pages: ids in, nothing personal in the payload.

Each reads what it needs in a read-only session (no write lock), then sends with no transaction open.
"""

from __future__ import annotations

from typing import Any

from flask import current_app

from sender import work
from sender.enums import ContactStatus
from sender.i18n import pick_locale
from sender.models import Contact
from sender.runtime import Runtime
from sender.services.consent.links import portal_token, signup_token
from sender.services.messages import system_email

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
        locale = pick_locale(contact.locale, default=runtime.settings.default_locale)
        message = system_email.build(
            session, runtime.settings, "portal_link", contact.email, locale,
            portal_url=url, hours=runtime.settings.portal_link_ttl // 3600,
        )  # fmt: skip
    return {"outcome": system_email.send(runtime.settings, message).outcome}


def send_signup_confirmation(contact_id: int, wording_ids: list[int]) -> dict[str, Any]:
    """Email the double opt-in confirmation link of a sign-up (no advertising, R53)."""
    runtime = _runtime()
    with work.reading(runtime.Session) as session:
        contact = session.get(Contact, contact_id)
        if contact is None or contact.status == ContactStatus.ERASED or not contact.email:
            return {"skipped": "not reachable"}
        token = signup_token(runtime.tokens, contact.public_id, [int(w) for w in wording_ids])
        locale = pick_locale(contact.locale, default=runtime.settings.default_locale)
        message = system_email.build(
            session, runtime.settings, "signup_confirm", contact.email, locale,
            confirm_url=f"{runtime.settings.public_base_url}/signup/confirm/{token}",
            days=runtime.settings.signup_ttl_days,
        )  # fmt: skip
    return {"outcome": system_email.send(runtime.settings, message).outcome}
