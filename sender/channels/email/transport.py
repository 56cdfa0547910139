"""Choose the email transport from settings: SMTP when SMTP_URL is set, else the outbox folder."""

from __future__ import annotations

from sender.channels.email.message import EmailTransport
from sender.channels.email.outbox import OutboxTransport
from sender.channels.email.smtp import SmtpTransport
from sender.config import Settings


def email_transport(settings: Settings) -> EmailTransport:
    """A fresh, not yet entered transport for one batch."""
    if settings.smtp_url:
        return SmtpTransport(settings.smtp_url)
    return OutboxTransport(settings.outbox_path)
