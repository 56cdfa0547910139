"""The event port: `emit` records one outgoing event in the caller's unit of work (the outbox).

It is called from the one place each fact is written (the consent ledger, restriction, erasure,
`feedback.apply`, rights requests, the campaign state machine, sequences), in the same transaction as the
fact: a rollback drops the event with it. One delivery row is recorded per active endpoint that wants the
event, and its job leaves after the commit; the HTTP request is made by that job, never here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, and_, delete, exists, insert, or_, select
from sqlalchemy.orm import Session

from sender import work
from sender.db import rowcount, utcnow
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
    it); the payload names the person by public id only, never by address. One event is `emit_many`'s
    batch of one: a single way to record events.
    """
    (event_id,) = _record(session, event_type, [(payload_ids, contact_id)])
    return session.get_one(OutgoingEvent, event_id)


def emit_many(
    session: Session,
    event_type: WebhookEvent,
    items: Sequence[tuple[Mapping[str, PayloadValue], int | None]],
) -> int:
    """`emit` for many events of one type (payload ids, contact id), set-based: one insert per table."""
    return len(_record(session, event_type, items))


def _record(
    session: Session,
    event_type: WebhookEvent,
    items: Sequence[tuple[Mapping[str, PayloadValue], int | None]],
) -> list[int]:
    """Insert the events, a delivery per event and endpoint that wants it, and each delivery's job."""
    if not items:
        return []
    now = utcnow()
    kind = WebhookEvent(event_type).value
    outbox = cast(Table, OutgoingEvent.__table__)
    rows = [
        {"event_type": kind, "payload": dict(payload), "contact_id": contact_id, "created_at": now}
        for payload, contact_id in items
    ]
    session.flush()
    event_ids = list(session.execute(insert(outbox).returning(outbox.c.id), rows).scalars())
    endpoints = session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.enabled.is_(True))).all()
    wanted = [endpoint.id for endpoint in endpoints if kind in (endpoint.events or [])]
    if not wanted:
        return event_ids
    deliveries = cast(Table, WebhookDelivery.__table__)
    delivery_rows = [
        {
            "event_id": event_id,
            "endpoint_id": endpoint_id,
            "status": WebhookDeliveryStatus.PENDING.value,
            "retry_since": now,
            "next_attempt_at": now,
            "created_at": now,
        }
        for event_id in event_ids
        for endpoint_id in wanted
    ]
    for delivery_id in session.execute(
        insert(deliveries).returning(deliveries.c.id), delivery_rows
    ).scalars():
        work.enqueue(session, DeliverWebhook(delivery_id, 0))
    return event_ids


# An event no endpoint wanted is kept this long (the access report may show it), then deleted.
UNSENT_DAYS = 1


def purge(session: Session, log_days: int, at: datetime) -> int:
    """Delete events no endpoint wanted (after a day) and those older than `log_days` with nothing pending."""
    delivered_to = exists().where(WebhookDelivery.event_id == OutgoingEvent.id)
    waiting = exists().where(
        WebhookDelivery.event_id == OutgoingEvent.id, WebhookDelivery.status == WebhookDeliveryStatus.PENDING
    )
    return rowcount(
        session.execute(
            delete(OutgoingEvent).where(
                or_(
                    and_(~delivered_to, OutgoingEvent.created_at < at - timedelta(days=UNSENT_DAYS)),
                    and_(~waiting, OutgoingEvent.created_at < at - timedelta(days=log_days)),
                )
            )
        )
    )
