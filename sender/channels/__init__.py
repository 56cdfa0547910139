"""Transports take a rendered message and report what the provider said; they know nothing of consent."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from typing import Literal, Protocol

Outcome = Literal["sent", "temporary", "permanent"]


@dataclass(frozen=True)
class SendResult:
    """What a provider answered for one message."""

    outcome: Outcome
    code: int | None = None
    detail: str = ""
    provider_id: str | None = None
    # True when the provider says the address does not exist (SMTP 5.1.x): suppress it.
    address_invalid: bool = False
    # True when the message went out but the reply was lost: it may have been delivered, never resend it.
    outcome_unknown: bool = False


class EmailTransport(Protocol):
    """Sends email over one reused connection; use as a context manager around a batch."""

    def __enter__(self) -> EmailTransport: ...

    def __exit__(self, *exc: object) -> None: ...

    def send(self, message: EmailMessage) -> SendResult:
        """Send one message (To/From from its headers) and report the outcome; never raise for SMTP errors."""
        ...
