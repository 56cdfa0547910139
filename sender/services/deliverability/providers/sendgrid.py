"""SendGrid's Event Webhook: an ECDSA (P-256, SHA-256) signature over timestamp + body, then its events.

bounce (type "blocked": soft; otherwise hard), dropped (a bounced or invalid address: hard; a spam-reporting
one: complaint) and spamreport (complaint) become reports; every other event is ignored.
"""

from __future__ import annotations

import base64
import binascii
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from sender.channels.email.render import delivery_in_message_id
from sender.config_webhooks import WebhookSettings
from sender.enums import FeedbackKind
from sender.services.deliverability.feedback import Feedback
from sender.services.deliverability.providers.common import Refused, code, fresh, json_document, mapping, text
from sender.services.errors import ValidationFailed

SOURCE = "sendgrid"
SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
_DROPPED = {
    "Bounced Address": FeedbackKind.HARD_BOUNCE,
    "Invalid": FeedbackKind.HARD_BOUNCE,
    "Spam Reporting Address": FeedbackKind.COMPLAINT,
}


@lru_cache(maxsize=4)
def _public_key(raw: bytes) -> ec.EllipticCurvePublicKey:
    key = (
        serialization.load_pem_public_key(raw)
        if raw.startswith(b"-----BEGIN")
        else serialization.load_der_public_key(raw)
    )
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise Refused("SENDGRID_WEBHOOK_PUBLIC_KEY is not an elliptic-curve key")
    return key


def verify(webhooks: WebhookSettings, signed: str, stamp: str, body: bytes, now: float) -> None:
    """Refuse the request unless SendGrid's signature of timestamp + body holds and the timestamp is fresh."""
    if not webhooks.sendgrid_public_key:
        raise Refused("SENDGRID_WEBHOOK_PUBLIC_KEY is not set")
    try:
        signature = base64.b64decode(signed, validate=True)
        sent = int(stamp)
        key = _public_key(webhooks.sendgrid_public_key)
    except (binascii.Error, ValueError):
        raise Refused("malformed signature, timestamp or key") from None
    if not signature:
        raise Refused("no signature")
    try:
        key.verify(signature, stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise Refused("bad SendGrid signature") from None
    fresh(sent, now, webhooks.tolerance_seconds)


def _kind(event: dict[str, Any]) -> FeedbackKind | None:
    name = text(event.get("event"))
    if name == "bounce":
        return FeedbackKind.SOFT_BOUNCE if event.get("type") == "blocked" else FeedbackKind.HARD_BOUNCE
    if name == "dropped":
        return _DROPPED.get(text(event.get("reason")))
    if name == "spamreport":
        return FeedbackKind.COMPLAINT
    return None


def receive(webhooks: WebhookSettings, signature: str, stamp: str, body: bytes, now: float) -> list[Feedback]:
    """The reports among a verified batch of SendGrid events (`signature`, `stamp`: its two headers)."""
    verify(webhooks, signature, stamp, body, now)
    events = json_document(body)
    if not isinstance(events, list):
        raise ValidationFailed({"body": "must be a JSON array of events"})
    reports = []
    for index, item in enumerate(events):
        event = mapping(item, f"[{index}]")
        kind = _kind(event)
        if kind is None:
            continue
        report_id = text(event.get("sg_event_id"))
        if not report_id:
            raise ValidationFailed({f"[{index}].sg_event_id": "is required"})
        reports.append(
            Feedback(
                kind=kind,
                report_id=report_id,
                source=SOURCE,
                delivery_id=delivery_in_message_id(text(event.get("smtp-id"))),
                address=text(event.get("email")) or None,
                detail=code(event.get("status")),
            )
        )
    return reports
