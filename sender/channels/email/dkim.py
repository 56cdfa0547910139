"""DKIM signing (RFC 6376) of every outgoing email, when a selector, a domain and a key are configured.

The transport signs, so campaign messages, test sends and system emails all pass through here, once each
message is final. dkimpy does the signing; relaxed/relaxed canonicalisation survives relays that refold
headers or change trailing whitespace.
"""

from __future__ import annotations

from dataclasses import replace

import dkim

from sender.channels.base import SendResult
from sender.channels.email.message import EmailTransport, OutgoingEmail
from sender.config import Settings

# Besides dkimpy's defaults: the one-click unsubscribe pair must be signed for Gmail and Yahoo to honour it
# (RFC 8058 section 4), and Feedback-ID for Gmail's feedback loop.
SIGNED_HEADERS = (
    "from", "to", "subject", "date", "message-id", "mime-version", "content-type",
    "list-id", "list-unsubscribe", "list-unsubscribe-post", "feedback-id", "auto-submitted",
)  # fmt: skip


class DkimSigner:
    """Signs message bytes with one key for one selector and domain."""

    def __init__(self, selector: str, domain: str, key: bytes) -> None:
        self.selector, self.domain, self._key = selector.encode(), domain.encode(), key

    def sign(self, data: bytes) -> bytes:
        """The message with its DKIM-Signature header prepended."""
        header: bytes = dkim.sign(
            data,
            self.selector,
            self.domain,
            self._key,
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=[h.encode() for h in SIGNED_HEADERS],
        )
        return header + data


def signer(settings: Settings) -> DkimSigner | None:
    """The signer of the effective settings, or None when DKIM is not configured; OSError if the key is gone."""
    guard = settings.guard
    if not guard.dkim_enabled or guard.dkim_key_file is None:
        return None
    return DkimSigner(guard.dkim_selector, guard.dkim_domain, guard.dkim_key_file.read_bytes())


class SigningTransport:
    """Wraps a transport: each message is signed just before it is handed over."""

    def __init__(self, inner: EmailTransport, signer: DkimSigner) -> None:
        self.inner, self.signer = inner, signer

    def __enter__(self) -> SigningTransport:
        self.inner.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.inner.__exit__(*exc)

    def send(self, message: OutgoingEmail) -> SendResult:
        """Sign, then send; a message dkimpy cannot sign fails for good rather than leave unsigned."""
        try:
            data = self.signer.sign(message.data)
        except dkim.DKIMException as exc:
            return SendResult("permanent", None, f"DKIM signing failed: {type(exc).__name__}")
        return self.inner.send(replace(message, data=data))
