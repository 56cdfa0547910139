"""Mailgun's webhooks: an HMAC-SHA256 of timestamp + token under the webhook signing key, then the event.

The signature covers the timestamp and token, not the body: a token is therefore bound to the first event
it came with (`common.claim_once`), and comes back only as Mailgun's retry of that same event. failed
(severity permanent: hard; temporary: soft) and complained become reports; other events are ignored.
"""

from __future__ import annotations

import hashlib
import hmac

from redis import Redis

from sender.channels.email.render import delivery_in_message_id
from sender.config_webhooks import WebhookSettings
from sender.enums import FeedbackKind
from sender.services.deliverability.feedback import Feedback
from sender.services.deliverability.providers.common import (
    Refused,
    claim_once,
    code,
    fresh,
    json_document,
    mapping,
    text,
)
from sender.services.errors import ValidationFailed

SOURCE = "mailgun"


def signature_of(key: str, timestamp: str, token: str) -> str:
    """Mailgun's signature: hex HMAC-SHA256 of timestamp + token."""
    return hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()


def receive(webhooks: WebhookSettings, redis: Redis, body: bytes, now: float) -> list[Feedback]:
    """The report of a verified Mailgun event; Refused for a bad signature, a stale one or a reused token."""
    key = webhooks.mailgun_signing_key
    if not key:
        raise Refused("MAILGUN_WEBHOOK_SIGNING_KEY is not set")
    try:
        document = mapping(json_document(body), "body")
        signed = mapping(document.get("signature"), "signature")
    except ValidationFailed:
        raise Refused("no signature") from None
    stamp, token = text(signed.get("timestamp")), text(signed.get("token"))
    if (
        not stamp
        or not token
        or not hmac.compare_digest(signature_of(key, stamp, token), text(signed.get("signature")))
    ):
        raise Refused("bad Mailgun signature")
    try:
        fresh(float(stamp), now, webhooks.tolerance_seconds)
    except ValueError:
        raise Refused("malformed timestamp") from None
    event = mapping(document.get("event-data"), "event-data")
    event_id = text(event.get("id"))
    if not event_id:
        raise ValidationFailed({"event-data.id": "is required"})
    if not claim_once(redis, SOURCE, token, event_id, webhooks.tolerance_seconds * 2):
        raise Refused("token reused with another event")
    name = text(event.get("event"))
    if name == "failed":
        severity = text(event.get("severity"))
        kind = FeedbackKind.HARD_BOUNCE if severity == "permanent" else FeedbackKind.SOFT_BOUNCE
    elif name == "complained":
        kind = FeedbackKind.COMPLAINT
    else:
        return []
    message = event.get("message")
    headers = message.get("headers") if isinstance(message, dict) else None
    message_id = text(headers.get("message-id")) if isinstance(headers, dict) else ""
    status = event.get("delivery-status")
    return [
        Feedback(
            kind=kind,
            report_id=event_id,
            source=SOURCE,
            delivery_id=delivery_in_message_id(message_id),
            address=text(event.get("recipient")) or None,
            detail=code(status.get("code")) if isinstance(status, dict) else "",
        )
    ]
