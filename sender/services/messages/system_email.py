"""System emails (portal links, sign-up confirmations, erasure notices): no advertising, in the person's language.

They are not subscription mail: no List-Unsubscribe, nothing promotional, only the sender's identity (R53).
"""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any

from sqlalchemy.orm import Session

from sender import work
from sender.addresses import ascii_email
from sender.channels.base import SendResult
from sender.channels.email.message import OutgoingEmail
from sender.channels.email.render import sender_domain
from sender.channels.email.transport import email_transport
from sender.config import Settings
from sender.i18n import email_env
from sender.services.accounts import organisation
from sender.services.errors import NotConfigured

log = logging.getLogger(__name__)

# Kinds of system email and their templates (templates/email/system/<kind>.subject.txt and .txt).
KINDS = (
    "portal_link",
    "signup_confirm",
    "erasure_done",
    "restriction_lift",
    "erasure_confirm",
    "address_confirm",
    # To admins: an outgoing webhook endpoint was disabled after repeated failure.
    "webhook_disabled",
)


def require_sender(session: Session, settings: Settings) -> Settings:
    """The effective settings, or NotConfigured naming what a system email lacks (checked before acting)."""
    effective = organisation.effective_settings(session, settings)
    missing = organisation.missing_for_email(effective)
    if missing:
        raise NotConfigured(missing)
    return effective


def build(
    session: Session, settings: Settings, kind: str, recipient: str, locale: str, **context: Any
) -> OutgoingEmail:
    """The complete message of one kind, rendered in `locale`, from the organisation's effective settings."""
    if kind not in KINDS:
        raise ValueError(f"unknown system email {kind!r}")
    settings = require_sender(session, settings)
    env = email_env(locale)
    values = {
        "org_name": settings.org_name,
        "org_address": settings.org_address,
        "org_contact_email": settings.org_contact_email,
        "dpo_contact": settings.dpo_contact,
        **context,
    }
    subject = " ".join(env.get_template(f"email/system/{kind}.subject.txt").render(values).split())
    body = env.get_template(f"email/system/{kind}.txt").render(values)
    _, from_address = parseaddr(settings.email_from)
    message = EmailMessage()
    # Domains in IDNA: the email package would write a non-ASCII one as an encoded-word no client reads.
    message["From"] = Address(display_name=settings.org_name, addr_spec=ascii_email(from_address))
    message["To"] = ascii_email(recipient)
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = f"<sys.{kind}.{secrets.token_hex(8)}@{sender_domain(settings)}>"
    message["Auto-Submitted"] = "auto-generated"
    message["Content-Language"] = locale
    message.set_content(body)
    return OutgoingEmail.from_message(message)


def send(settings: Settings, message: OutgoingEmail) -> SendResult:
    """Send one system email now through the configured transport (SMTP, else the outbox).

    `settings` are the effective ones (organisation.effective_settings): a DKIM key set on the Organisation
    page signs the message.
    """
    with email_transport(settings) as transport:
        return transport.send(message)


def send_after_commit(session: Session, settings: Settings, kind: str, message: OutgoingEmail) -> None:
    """Send one system email once the session's unit of work commits, outside its write transaction.

    For a message that cannot be a job: its address is gone from the database once the unit commits
    (erasure). Nothing is sent if the unit rolls back; a refusal is logged by kind, never by address.
    """

    sending = organisation.effective_settings(session, settings)

    def deliver() -> None:
        outcome = send(sending, message).outcome
        if outcome != "sent":
            log.warning("system email %s not sent: %s", kind, outcome)

    work.after_commit(session, f"system email {kind}", deliver)
