"""A webhook endpoint with one delivery in its log, for the staff pages' matrix and fuzzing."""

from __future__ import annotations

from sqlalchemy.orm import Session

from sender.enums import WebhookDeliveryStatus, WebhookEvent
from sender.models import OutgoingEvent, WebhookDelivery, WebhookEndpoint


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
