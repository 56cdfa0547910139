"""Transports take a rendered message and report what the provider said; they know nothing of consent."""

from __future__ import annotations

from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import SMTP, default
from email.utils import getaddresses
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


@dataclass(frozen=True)
class OutgoingEmail:
    """A message ready for the wire: envelope addresses and the complete RFC 5322 bytes (CRLF line ends)."""

    sender: str
    recipient: str
    message_id: str
    data: bytes

    @property
    def needs_smtputf8(self) -> bool:
        """True when an address is internationalised (RFC 6531)."""
        return not (self.sender.isascii() and self.recipient.isascii())

    def message(self) -> EmailMessage:
        """The bytes parsed back with the email package (for inspection, the outbox and tests)."""
        # (sender.channels.email.transport shadows the stdlib `email` name in this package, hence the direct import.)
        parsed: EmailMessage = message_from_bytes(self.data, policy=default)
        return parsed

    @classmethod
    def from_message(cls, message: EmailMessage) -> OutgoingEmail:
        """Wrap a message built with the email package (system emails); envelope from From and To."""
        (_, sender), *_ = getaddresses([str(message["From"])])
        (_, recipient), *_ = getaddresses([str(message["To"])])
        return cls(sender, recipient, str(message["Message-ID"] or ""), message.as_bytes(policy=SMTP))


class EmailTransport(Protocol):
    """Sends email over one reused connection; use as a context manager around a batch."""

    def __enter__(self) -> EmailTransport: ...

    def __exit__(self, *exc: object) -> None: ...

    def send(self, message: OutgoingEmail) -> SendResult:
        """Send one message to its envelope recipient and report the outcome; never raise for SMTP errors."""
        ...
