"""MIME assembly of campaign email: rendered content of one person in, RFC 5322 bytes out.

Everything that is the same for every message of a batch (From, list headers, MIME skeleton) is folded once,
with the email package, when the assembler is built; assemble() only joins the person's lines and the
quoted-printable bodies, as bytes, because building a Message object per recipient costs more than sending it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from dataclasses import replace
from datetime import UTC, datetime
from email.headerregistry import Address
from email.utils import format_datetime, parseaddr
from urllib.parse import urlsplit

from sender.addresses import ascii_email
from sender.channels.base import TEST_MARK, Content, RenderFailed
from sender.channels.email.message import OutgoingEmail
from sender.channels.email.mime import fold, part_head, qp, subject_line
from sender.config import Settings
from sender.enums import CampaignKind
from sender.models import Campaign, Purpose

ONE_CLICK = "List-Unsubscribe=One-Click"
# Says to the tester's mail filters that a message is a test (assemble_test); its subject says so to them.
TEST_HEADER = "X-Sender-Test"
_PHRASE_SPECIALS = re.compile(r'[()<>\[\]:;@\\,."]+')
_NOT_SLUG = re.compile(r"[^a-z0-9-]+")


# What MimeAssembler.message_id writes: <d{delivery}.c{campaign}.{random}@{domain}>.
_OUR_MESSAGE_ID = re.compile(r"<?d(?P<delivery>[1-9][0-9]{0,9})\.c[0-9]+\.[0-9a-f]+@")
# Delivery ids are a 32-bit column: a larger number in a quoted Message-ID was never ours.
_MAX_DELIVERY_ID = 2**31 - 1


def delivery_in_message_id(message_id: str) -> int | None:
    """The delivery a Message-ID of ours names (a provider's report quotes it), or None."""
    found = _OUR_MESSAGE_ID.match(message_id.strip())
    delivery = int(found["delivery"]) if found else None
    return delivery if delivery is not None and delivery <= _MAX_DELIVERY_ID else None


def sender_domain(settings: Settings) -> str:
    """Domain of EMAIL_FROM in IDNA (for Message-ID), falling back to the public site's host."""
    _, address = parseaddr(settings.email_from)
    return (
        ascii_email(address).rpartition("@")[2] or urlsplit(settings.public_base_url).hostname or "localhost"
    )


def list_id(settings: Settings, purpose: Purpose) -> str:
    """RFC 2919 List-Id: the purpose's name and <slug.lists.HOST>, one list per purpose."""
    host = urlsplit(settings.public_base_url).hostname or ""
    if "." not in host:  # localhost or a bare name is not a namespace anyone controls
        host = sender_domain(settings)
    slug = _NOT_SLUG.sub("-", purpose.slug.lower()).strip("-") or f"purpose-{purpose.id}"
    phrase = " ".join(_PHRASE_SPECIALS.sub(" ", purpose.name).split())
    return f"{phrase} <{slug}.lists.{host}>".strip()


def feedback_id(settings: Settings, campaign: Campaign, purpose: Purpose) -> str:
    """Gmail's feedback-loop identifier, `campaign:purpose:organisation:sender`: ids only, no personal data.

    Gmail reports spam rates per value of each field; the organisation's part is an opaque keyed hash, the
    same for every message of this installation.
    """
    slug = _NOT_SLUG.sub("-", purpose.slug.lower()).strip("-") or f"purpose-{purpose.id}"
    org = hmac.new(settings.hash_key.encode(), b"feedback-id", hashlib.sha256).hexdigest()[:10]
    return f"c{campaign.id}:{slug}:{org}:sender"


def missing_identity(settings: Settings) -> dict[str, str]:
    """A marketing email must identify the advertiser (R18): what effective settings lack, by variable."""
    errors: dict[str, str] = {}
    if not settings.org_name.strip():
        errors["ORG_NAME"] = "the organisation's legal name is required to send email (Organisation page)"
    if not settings.org_address.strip():
        errors["ORG_ADDRESS"] = (
            "the organisation's postal address is required to send email (Organisation page)"
        )
    _, address = parseaddr(settings.email_from)
    if "@" not in address:
        errors["EMAIL_FROM"] = "a valid sender address is required to send email (Organisation page)"
    return errors


class MimeAssembler:
    """Builds multipart/alternative messages of one campaign; safe to share between sending threads."""

    def __init__(self, settings: Settings, campaign: Campaign, purpose: Purpose) -> None:
        self.campaign_id = campaign.id
        # A legal notice is not subscription mail: no list headers (R30).
        subscription = campaign.kind != CampaignKind.LEGAL_NOTICE
        self._domain = sender_domain(settings)
        # Addresses go out with their domain in IDNA, so a server without SMTPUTF8 takes them (transport too).
        self.envelope_from = ascii_email(parseaddr(settings.email_from)[1])
        # "=_" never occurs in quoted-printable output, so this boundary cannot collide with a body.
        boundary = f"=_sender_{secrets.token_hex(12)}"
        head = [fold("From", Address(display_name=settings.org_name, addr_spec=self.envelope_from))]
        if subscription:
            head += [fold("List-Unsubscribe-Post", ONE_CLICK), fold("List-Id", list_id(settings, purpose))]
        head.append(fold("Feedback-ID", feedback_id(settings, campaign, purpose)))
        head += [
            fold("MIME-Version", "1.0"),
            fold("Content-Type", f'multipart/alternative; boundary="{boundary}"'),
        ]
        self._head = "".join(head).encode("ascii")
        self._part_text = part_head(boundary, "plain")
        self._part_html = part_head(boundary, "html")
        self._closing = f"\r\n--{boundary}--\r\n".encode("ascii")
        self._mailto = (
            f",\r\n <mailto:{settings.org_contact_email}?subject=unsubscribe>"
            if settings.org_contact_email.isascii() and "@" in settings.org_contact_email
            else ""
        )
        self._date_lock = threading.Lock()
        self._date_value: datetime | None = None
        self._date_line = b""

    def message_id(self, delivery_id: int) -> str:
        """A unique Message-ID that names the delivery and campaign (ids only)."""
        return f"<d{delivery_id}.c{self.campaign_id}.{secrets.token_hex(6)}@{self._domain}>"

    def assemble(self, address: str, content: Content, delivery_id: int) -> OutgoingEmail:
        """The complete message for one person; RenderFailed if its text cannot be encoded."""
        return self._assemble(address, content, delivery_id)

    def assemble_test(self, address: str, content: Content) -> OutgoingEmail:
        """A test of the message: its subject starts with TEST_MARK, and a TEST_HEADER says so to filters."""
        marked = replace(content, subject=TEST_MARK + content.subject)
        return self._assemble(address, marked, 0, f"{TEST_HEADER}: yes\r\n")

    def _assemble(self, address: str, content: Content, delivery_id: int, extra: str = "") -> OutgoingEmail:
        message_id = self.message_id(delivery_id)
        address = ascii_email(address)
        # Whitespace is collapsed, so a value holding CR or LF cannot start a header of its own.
        subject = " ".join(content.subject.split())
        lines = [
            # A non-ASCII local part goes as UTF-8 (RFC 6532), sent with SMTPUTF8; never as an encoded-word.
            f"To: {address}\r\n",
            subject_line(subject),
            f"Message-ID: {message_id}\r\n",
            extra,
        ]
        if content.unsubscribe_url:
            lines.append(f"List-Unsubscribe: <{content.unsubscribe_url}>{self._mailto}\r\n")
        try:
            data = b"".join(
                (
                    self._date(),
                    "".join(lines).encode("utf-8"),
                    self._head,
                    self._part_text,
                    qp(content.text),
                    self._part_html,
                    qp(content.html),
                    self._closing,
                )
            )
        except UnicodeError as exc:
            # A lone surrogate in a contact's data cannot become UTF-8: this message alone fails.
            raise RenderFailed(f"encoding failed: {type(exc).__name__}") from None
        return OutgoingEmail(content.return_path or self.envelope_from, address, message_id, data)

    def _date(self) -> bytes:
        """The Date header line, rebuilt at most once per second."""
        now = datetime.now(UTC).replace(microsecond=0)
        with self._date_lock:
            if now != self._date_value:
                self._date_value = now
                self._date_line = f"Date: {format_datetime(now)}\r\n".encode("ascii")
            return self._date_line
