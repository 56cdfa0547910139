"""The email channel's wire message: envelope addresses and the RFC 5322 bytes, as transports take them."""

from __future__ import annotations

from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import SMTP, default
from email.utils import getaddresses

from sender.channels.base import Transport


@dataclass(frozen=True)
class OutgoingEmail:
    """A message ready for the wire: envelope addresses and the complete RFC 5322 bytes (CRLF line ends)."""

    sender: str
    recipient: str
    message_id: str
    data: bytes

    def message(self) -> EmailMessage:
        """The bytes parsed back with the email package (for inspection, the outbox and tests)."""
        parsed: EmailMessage = message_from_bytes(self.data, policy=default)
        return parsed

    @classmethod
    def from_message(cls, message: EmailMessage) -> OutgoingEmail:
        """Wrap a message built with the email package (system emails); envelope from From and To."""
        (_, sender), *_ = getaddresses([str(message["From"])])
        (_, recipient), *_ = getaddresses([str(message["To"])])
        return cls(sender, recipient, str(message["Message-ID"] or ""), message.as_bytes(policy=SMTP))


# What the email channel's transports (SMTP relay, outbox folder) accept.
EmailTransport = Transport[OutgoingEmail]
