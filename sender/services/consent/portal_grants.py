"""Consent given again from the privacy portal, and where double opt-in applies, the link that confirms it.

The confirmation goes over the grant's own channel, from the organisation's effective settings; it is refused
now, before anything is recorded, when it could not leave (no job that dies later).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from sender import work
from sender.config import Settings
from sender.enums import Channel, ConsentAction
from sender.i18n import N_
from sender.models import Contact
from sender.services.accounts import organisation
from sender.services.consent import preferences
from sender.services.errors import ValidationFailed
from sender.services.messages import system_email
from sender.services.rights import confirmations
from sender.work.jobs import SendSignupConfirmation

CANNOT_CONFIRM = N_("we cannot send the confirmation on this channel")


def grant(
    session: Session,
    settings: Settings,
    contact: Contact,
    purpose_id: Any,
    channel: Any,
    wording_version: Any,
    evidence: dict[str, Any] | None = None,
) -> str | None:
    """Record the grant; returns the channel its confirmation link goes out on, or None when it counts at once."""
    event = preferences.grant(session, contact, purpose_id, channel, wording_version, evidence)
    if event.action != ConsentAction.REQUEST or event.wording_id is None:
        return None
    # Double opt-in: the grant counts once confirmed from the address of its own channel.
    if not confirmations.can_confirm(organisation.effective_settings(session, settings), event.channel):
        raise ValidationFailed({"channel": CANNOT_CONFIRM})
    if event.channel == Channel.EMAIL:
        system_email.require_sender(session, settings)
    job = SendSignupConfirmation(
        contact_id=contact.id, wording_ids=(event.wording_id,), channel=event.channel
    )
    work.enqueue(session, job)
    return event.channel
