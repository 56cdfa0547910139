"""Reading bounce and complaint messages: DSN (RFC 3464) and ARF (RFC 5965) with the email package,
every other bounce format through flufl.bounce's detectors (Exim, qmail, old Exchange and more).

A message may say several things (a DSN lists each recipient); each becomes one `Finding`. What is not a
failure (a delay warning, a relayed or delivered notice, an auto-reply, a "not spam" report) finds nothing.

Which status means what (RFC 3463): 5.x.x is permanent (hard) except a full mailbox (5.2.2) and a policy
refusal (5.7.x: the content or our reputation, not the address), which are counted as soft like 4.x.x.
A "delayed" action is a warning, not a failure: the relay still tries.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message
from email.parser import HeaderParser
from email.utils import getaddresses

from flufl.bounce import all_failures

from sender.enums import FeedbackKind

_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
# Headers of a report (or of the message it returns) that may hold the address the report was sent to.
ENVELOPE_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "To")
ORIGINAL_HEADERS = ("Return-Path", "Errors-To", "Sender", "Original-Mail-From")
# ARF feedback types that are a complaint about our mail (RFC 5965 7.3): abuse, and fraud or virus claims.
COMPLAINT_TYPES = ("abuse", "fraud", "virus")


@dataclass(frozen=True)
class Finding:
    """One failed recipient or one complaint in a message: its kind, the address named, its status code."""

    kind: FeedbackKind
    recipient: str | None
    detail: str = ""


def load(data: bytes) -> Message:
    """The message as the email package's compat32 model (what flufl.bounce's detectors read)."""
    return message_from_bytes(data)


def report_id(message: Message, data: bytes) -> str:
    """The report's own id: its Message-ID, else a digest of its bytes (the same message twice, same id)."""
    mid = " ".join(str(message.get("Message-ID", "")).split())
    return mid[:200] if mid else "sha256:" + hashlib.sha256(data).hexdigest()


def kind_of_status(status: str) -> FeedbackKind | None:
    """Hard or soft for an RFC 3463 status code; None for a success (2.x.x) or something unreadable."""
    match = _STATUS.search(status)
    if match is None:
        return None
    klass, subject, detail = match.groups()
    if klass == "2":
        return None
    if klass == "5" and not (subject == "7" or (subject, detail) == ("2", "2")):
        return FeedbackKind.HARD_BOUNCE
    return FeedbackKind.SOFT_BOUNCE


def _parts(message: Message, maintype: str, subtype: str) -> Iterator[Message]:
    for part in message.walk():
        if part.get_content_maintype() == maintype and part.get_content_subtype() == subtype:
            yield part


def _messages(part: Message) -> list[Message]:
    """The sub-messages a message/* part holds (header blocks of a report, a returned message)."""
    payload = part.get_payload()
    return [item for item in payload if isinstance(item, Message)] if isinstance(payload, list) else []


def _address(value: str | None) -> str | None:
    """The address of a DSN field such as `rfc822; someone@example.org`."""
    if not value:
        return None
    _, _, address = str(value).rpartition(";")
    found = getaddresses([address.strip()])
    return found[0][1] or None if found else None


def _dsn(message: Message) -> list[Finding] | None:
    """Findings of an RFC 3464 report; None when the message holds no delivery-status part."""
    parts = list(_parts(message, "message", "delivery-status"))
    if not parts:
        return None
    findings = []
    for part in parts:
        blocks = _messages(part)
        # The first block is about the message; each one after it about one recipient.
        for block in blocks[1:]:
            action = str(block.get("Action", "")).strip().lower()
            status = str(block.get("Status", "")).strip()
            if action != "failed":
                continue
            kind = kind_of_status(status) or FeedbackKind.HARD_BOUNCE
            recipient = _address(block.get("Original-Recipient")) or _address(block.get("Final-Recipient"))
            match = _STATUS.search(status)
            findings.append(Finding(kind, recipient, match.group(0) if match else ""))
    return findings


def _arf(message: Message) -> list[Finding] | None:
    """The complaint of an RFC 5965 report; None when the message holds no feedback-report part."""
    parts = list(_parts(message, "message", "feedback-report"))
    if not parts:
        return None
    findings = []
    for part in parts:
        fields = _fields(part)
        if fields is None:
            continue
        feedback_type = str(fields.get("Feedback-Type", "")).strip().lower()
        if feedback_type not in COMPLAINT_TYPES:
            continue
        recipient = _address(fields.get("Original-Rcpt-To"))
        findings.append(Finding(FeedbackKind.COMPLAINT, recipient, feedback_type))
    return findings


def _fields(part: Message) -> Message | None:
    """The header block of a message/feedback-report part (parsed as a sub-message or left as text)."""
    blocks = _messages(part)
    if blocks:
        return blocks[0]
    payload = part.get_payload()
    if isinstance(payload, str):
        return HeaderParser().parsestr(payload.lstrip())
    return None


def _detected(message: Message) -> list[Finding]:
    """Non-standard bounces: flufl.bounce's detectors; its temporary failures are warnings, not bounces."""
    _temporary, permanent = all_failures(message)
    return [
        Finding(FeedbackKind.HARD_BOUNCE, address.decode("ascii", "replace")) for address in sorted(permanent)
    ]


def findings(message: Message) -> list[Finding]:
    """Everything a bounce or complaint message says, standard formats first."""
    for reader in (_arf, _dsn):
        found = reader(message)
        if found is not None:
            return found
    if message.get_content_type() == "multipart/report":
        # A report of another kind (a read receipt, RFC 8098): nothing about deliverability.
        return []
    return _detected(message)


def addressed_to(message: Message) -> list[str]:
    """Addresses the report went to, then those of the message it returns: where a VERP token may be."""
    found = [value for name in ENVELOPE_HEADERS for value in message.get_all(name, [])]
    for part in message.walk():
        content_type = part.get_content_type()
        if content_type == "message/rfc822":
            originals = _messages(part)
        elif content_type == "message/feedback-report":
            fields = _fields(part)
            originals = [fields] if fields is not None else []
        elif content_type == "text/rfc822-headers":
            payload = part.get_payload(decode=True)
            text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
            originals = [HeaderParser().parsestr(text.lstrip())]
        else:
            continue
        for original in originals:
            found += [value for name in ORIGINAL_HEADERS for value in original.get_all(name, [])]
    return [address for _, address in getaddresses([str(value) for value in found]) if address]
