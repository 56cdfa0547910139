"""The event port: `emit` records one outgoing event in the caller's unit of work (the outbox).

It is called from the one place each fact is written (the consent ledger, restriction, erasure,
`feedback.apply`, rights requests, the campaign state machine, sequences), in the same transaction as the
fact: a rollback drops the event with it. One delivery row is recorded per active endpoint that wants the
event, and its job leaves after the commit; the HTTP request is made by that job, never here.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from sender import work
from sender.db import utcnow
from sender.enums import WebhookDeliveryStatus, WebhookEvent
from sender.models import OutgoingEvent, WebhookDelivery, WebhookEndpoint
from sender.work.jobs import DeliverWebhook

PayloadValue = int | str | None


def emit(
    session: Session,
    event_type: WebhookEvent,
    payload_ids: Mapping[str, PayloadValue],
    *,
    contact_id: int | None = None,
) -> OutgoingEvent:
    """Record `event_type` with `payload_ids` (ids and public ids only) and its deliveries, in this unit.

    `contact_id` links the event to the person it is about (the access report lists it, erasure deletes
    it); the payload names the person by public id only, never by address.
    """
    now = utcnow()
    event = OutgoingEvent(
        event_type=WebhookEvent(event_type).value,
        payload=dict(payload_ids),
        contact_id=contact_id,
        created_at=now,
    )
    session.add(event)
    endpoints = session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.enabled.is_(True))).all()
    wanted = [endpoint for endpoint in endpoints if event.event_type in (endpoint.events or [])]
    if not wanted:
        return event
    session.flush()
    for endpoint in wanted:
        delivery = WebhookDelivery(
            event_id=event.id,
            endpoint_id=endpoint.id,
            status=WebhookDeliveryStatus.PENDING,
            retry_since=now,
            next_attempt_at=now,
            created_at=now,
        )
        session.add(delivery)
        session.flush()
        work.enqueue(session, DeliverWebhook(delivery.id, 0))
    return event
