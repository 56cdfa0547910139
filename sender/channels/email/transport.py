"""Choose the email transport from settings: SMTP when SMTP_URL is set, else the outbox folder.

With DKIM configured, the transport signs every message (dkim.py): give it the effective settings
(organisation.effective_settings), where a key set on the Organisation page is known.
"""

from __future__ import annotations

from sender.channels.email.dkim import SigningTransport, signer
from sender.channels.email.message import EmailTransport
from sender.channels.email.outbox import OutboxTransport
from sender.channels.email.smtp import SmtpTransport
from sender.config import Settings


def email_transport(settings: Settings) -> EmailTransport:
    """A fresh, not yet entered transport for one batch."""
    transport: EmailTransport = (
        SmtpTransport(settings.smtp_url) if settings.smtp_url else OutboxTransport(settings.outbox_path)
    )
    dkim_signer = signer(settings)
    return SigningTransport(transport, dkim_signer) if dkim_signer else transport
