"""Email as a channel: contact's email column, MIME assembly, SMTP (or outbox) transport, SMTP reply meanings."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sender.addresses import normalize_email
from sender.channels.base import (
    Assembler,
    ContactAddress,
    ContentRules,
    Processor,
    SendResult,
    Transport,
    Verdict,
    default_verdict,
)
from sender.channels.email.render import MimeAssembler, missing_identity
from sender.channels.email.transport import email_transport
from sender.config import Rate, Settings
from sender.enums import SuppressionReason
from sender.i18n import N_
from sender.models import Campaign, Contact, Purpose

# RFC 3463 X.7.x is "security or policy": relays answer rate limits with 4.7.0 / 4.7.1 (421, 450, 451, 454).
_THROTTLE = re.compile(r"\b4\.7\.\d{1,3}\b")


def is_throttle(result: SendResult) -> bool:
    """True when a temporary answer asks us to slow down (4.7.x) rather than reporting a fault."""
    return result.outcome == "temporary" and result.code is not None and bool(_THROTTLE.search(result.detail))


class EmailChannel:
    """The email channel; stateless, registered once as "email"."""

    name = "email"
    label = N_("e-mail")
    address = ContactAddress("email", "email_hash")
    # A subject line longer than 255 characters is cut or refused by mail clients and relays alike.
    content = ContentRules(
        {"subject": 255, "text": 500_000, "html": 500_000}, required=frozenset({"subject", "text"})
    )
    processor = Processor(
        "email relay (SMTP_URL) or local outbox",
        "delivers email",
        "as declared in the register of the purpose",
        "processing agreement (GDPR Art. 28)",
    )

    def normalise(self, raw: str, settings: Settings) -> str:
        """The lower-case address, checked without any DNS lookup."""
        return normalize_email(raw, self.address.column)

    def missing_settings(self, settings: Settings) -> dict[str, str]:
        """ORG_NAME, ORG_ADDRESS and EMAIL_FROM identify the sender in every message."""
        return missing_identity(settings)

    def processor_host(self, settings: Settings) -> str | None:
        """The relay of SMTP_URL; None with the local outbox, where no message leaves the machine."""
        return urlsplit(settings.smtp_url).hostname if settings.smtp_url else None

    def assembler(self, settings: Settings, campaign: Campaign, purpose: Purpose) -> Assembler[Any]:
        """MIME bytes, headers folded once per batch."""
        return MimeAssembler(settings, campaign, purpose)

    def transport(self, settings: Settings) -> Transport[Any]:
        """SMTP when SMTP_URL is set, else the outbox folder."""
        return email_transport(settings)

    def verdict(self, result: SendResult) -> Verdict:
        """Shared mapping, plus throttling for 4.7.x temporary replies (not counted as an attempt)."""
        if is_throttle(result) and not result.outcome_unknown:
            return Verdict("retry", throttled=True)
        return default_verdict(result, suppress=SuppressionReason.HARD_BOUNCE)

    def connections(self, settings: Settings) -> int:
        """SMTP_CONNECTIONS persistent connections per worker; the outbox writes files one at a time."""
        return settings.smtp_connections if settings.smtp_url else 1

    def rate_limits(self, settings: Settings) -> tuple[Rate, ...]:
        """SMTP_MAX_RATE, shared by every worker."""
        return settings.smtp_max_rate if settings.smtp_url else ()

    def hold_until(
        self, settings: Settings, campaign: Campaign, contact: Contact, at: datetime
    ) -> datetime | None:
        """Email has no quiet hours: it waits in the inbox until it is read."""
        return None
