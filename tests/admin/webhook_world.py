"""Rows the staff pages' matrix and fuzzing need beyond the common ones: a webhook endpoint with one
delivery in its log, and a draft sequence."""

from __future__ import annotations

from sqlalchemy.orm import Session

from sender.enums import WebhookDeliveryStatus, WebhookEvent
from sender.models import OutgoingEvent, Sequence, WebhookDelivery, WebhookEndpoint
from sender.services.sequences import build
from sender.services.sequences.schema import SequenceInput


def webhook_with_delivery(session: Session) -> tuple[WebhookEndpoint, WebhookDelivery]:
    """An enabled endpoint and a delivered event (replaying it queues an attempt)."""
    endpoint = WebhookEndpoint(
        url="https://93.184.216.34/hooks",
        secret="whsec_" + "A" * 44,
        events=[WebhookEvent.CAMPAIGN_FINISHED.value],
        created_by="admin@exemple.org",
    )
    event = OutgoingEvent(event_type=WebhookEvent.CAMPAIGN_FINISHED.value, payload={"campaign": 1})
    session.add_all([endpoint, event])
    session.flush()
    delivery = WebhookDelivery(
        event_id=event.id, endpoint_id=endpoint.id, status=WebhookDeliveryStatus.DELIVERED
    )
    session.add(delivery)
    session.flush()
    return endpoint, delivery


def welcome_sequence(session: Session, purpose_slug: str) -> Sequence:
    """A one-step draft sequence under the purpose, as a marketer saves it."""
    welcome = SequenceInput.parse(
        {
            "name": "W",
            "purpose": purpose_slug,
            "trigger": "consent",
            "steps": [{"subject": "Hi", "body_html": "<p>Hi</p>", "body_text_derived": True}],
        }
    )
    return build.save(session, None, welcome, "user:1")
