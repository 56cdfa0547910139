"""Brevo's transactional webhook (hard_bounce, soft_bounce, invalid_email, spam, complaint), by Bearer token.

Brevo signs nothing; of its two ways to authenticate a webhook (user:password in the URL, or a Bearer token
header set with the webhook's `auth` when it is created through Brevo's API), sender uses the token:
BREVO_WEBHOOK_TOKEN. On a site served over https, plain http is refused before the token is compared.
A report is named by its event, its message and Brevo's event time: a replay is recognised.
"""

from __future__ import annotations

from typing import Any

from sender.channels.email.render import delivery_in_message_id
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

SOURCE = "brevo"
KINDS = {
    "hard_bounce": FeedbackKind.HARD_BOUNCE,
    "invalid_email": FeedbackKind.HARD_BOUNCE,
    "soft_bounce": FeedbackKind.SOFT_BOUNCE,
    "spam": FeedbackKind.COMPLAINT,
    "complaint": FeedbackKind.COMPLAINT,
}


def authenticate(webhooks: WebhookSettings, authorization: str, public_base_url: str, scheme: str) -> None:
    """Refuse the request unless it came over https (in production) with the Bearer token."""
    over_tls(public_base_url, scheme)
    method, _, token = authorization.partition(" ")
    if method.lower() != "bearer" or not same_secret(token.strip(), webhooks.brevo_token):
        raise Refused("bad or missing Brevo token")


def _report(event: dict[str, Any], field: str) -> Feedback | None:
    kind = KINDS.get(text(event.get("event")))
    if kind is None:
        return None
    message_id = text(event.get("message-id"))
    if not message_id:
        raise ValidationFailed({f"{field}message-id": "is required"})
    stamp = text(event.get("ts_event")) or text(event.get("ts"))
    return Feedback(
        kind=kind,
        report_id=f"{event.get('event')}:{message_id}:{stamp}",
        source=SOURCE,
        delivery_id=delivery_in_message_id(message_id),
        address=text(event.get("email")) or None,
    )


def receive(
    webhooks: WebhookSettings, authorization: str, public_base_url: str, scheme: str, body: bytes
) -> list[Feedback]:
    """The reports of an authenticated Brevo event, or of a batch of them."""
    authenticate(webhooks, authorization, public_base_url, scheme)
    document = json_document(body)
    events = document if isinstance(document, list) else [document]
    reports = []
    for index, item in enumerate(events):
        report = _report(mapping(item, f"[{index}]"), f"[{index}]." if isinstance(document, list) else "")
        if report is not None:
            reports.append(report)
    return reports
