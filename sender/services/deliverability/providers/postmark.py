"""Postmark's Bounce and SpamComplaint webhooks, authenticated by basic auth over https.

Postmark signs nothing: the webhook URL carries POSTMARK_WEBHOOK_CREDENTIALS (https://user:password@…), so
on a site served over https a request over plain http is refused before the credentials are compared.
Postmark's own bounce ID names each report: a replay of it is recognised by the feedback service.
"""

from __future__ import annotations

import base64
import binascii

from sender.config_webhooks import WebhookSettings
from sender.enums import FeedbackKind
from sender.services.deliverability.feedback import Feedback
from sender.services.deliverability.providers.common import (
    Refused,
    json_document,
    mapping,
    over_tls,
    same_secret,
    text,
)
from sender.services.errors import ValidationFailed

SOURCE = "postmark"
# Postmark's bounce types that say the address will never take mail, and those that may pass.
HARD_TYPES = frozenset({"HardBounce", "BadEmailAddress", "ManuallyDeactivated"})
SOFT_TYPES = frozenset({"SoftBounce", "Transient", "DnsError", "Blocked", "ContentRelated", "MailFrontier"})


def authenticate(webhooks: WebhookSettings, authorization: str, public_base_url: str, scheme: str) -> None:
    """Refuse the request unless it came over https (in production) with Postmark's basic credentials."""
    over_tls(public_base_url, scheme)
    method, _, encoded = authorization.partition(" ")
    try:
        given = base64.b64decode(encoded, validate=True).decode() if method.lower() == "basic" else ""
    except (binascii.Error, UnicodeDecodeError):
        given = ""
    if not same_secret(given, webhooks.postmark_credentials):
        raise Refused("bad or missing Postmark credentials")


def receive(
    webhooks: WebhookSettings, authorization: str, public_base_url: str, scheme: str, body: bytes
) -> list[Feedback]:
    """The report of an authenticated Postmark Bounce or SpamComplaint webhook."""
    authenticate(webhooks, authorization, public_base_url, scheme)
    record = mapping(json_document(body), "body")
    record_type = text(record.get("RecordType"))
    bounce_type = text(record.get("Type"))
    if record_type == "SpamComplaint":
        kind = FeedbackKind.COMPLAINT
    elif record_type == "Bounce" and bounce_type in HARD_TYPES:
        kind = FeedbackKind.HARD_BOUNCE
    elif record_type == "Bounce" and bounce_type in SOFT_TYPES:
        kind = FeedbackKind.SOFT_BOUNCE
    else:
        return []
    report_id = text(record.get("ID"))
    if not report_id:
        raise ValidationFailed({"ID": "is required"})
    return [
        Feedback(
            kind=kind,
            report_id=report_id,
            source=SOURCE,
            # Postmark reports its own MessageID, not ours: the address names the contact.
            delivery_id=None,
            address=text(record.get("Email")) or None,
            detail=bounce_type,
        )
    ]
