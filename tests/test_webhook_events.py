"""The event port: one outgoing event per fact, in the caller's unit, with a delivery per endpoint that wants it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sender import work
from sender.enums import WebhookDeliveryStatus, WebhookEvent
from sender.models import OutgoingEvent, WebhookDelivery, WebhookEndpoint
from sender.runtime import Runtime
from sender.services.webhooks import events
from tests.factories import ContactFactory


def _endpoint(session: Session, wanted: list[str], enabled: bool = True) -> WebhookEndpoint:
    endpoint = WebhookEndpoint(
        url="https://hooks.example.org/in",
        secret="whsec_" + "A" * 32,
        events=wanted,
        enabled=enabled,
        created_by="admin@example.org",
    )
    session.add(endpoint)
    session.flush()
    return endpoint


def test_an_event_is_recorded_with_a_delivery_per_endpoint_that_wants_it(
    runtime: Runtime, db_session: Session, redis_conn: Any
) -> None:
    contact = ContactFactory(email="ines@example.org")
    wants = _endpoint(db_session, [WebhookEvent.CONSENT_GRANTED, WebhookEvent.CONSENT_WITHDRAWN])
    _endpoint(db_session, [WebhookEvent.CAMPAIGN_FINISHED])
    _endpoint(db_session, [WebhookEvent.CONSENT_GRANTED], enabled=False)
    db_session.commit()

    session = runtime.Session()
    event = events.emit(
        session,
        WebhookEvent.CONSENT_GRANTED,
        {"contact": contact.public_id, "purpose": "news"},
        contact_id=contact.id,
    )
    work.commit(session, "test")

    stored = db_session.get(OutgoingEvent, event.id)
    assert stored is not None and stored.payload == {"contact": contact.public_id, "purpose": "news"}
    assert stored.message_id.startswith("msg_") and stored.contact_id == contact.id
    deliveries = db_session.scalars(select(WebhookDelivery).where(WebhookDelivery.event_id == event.id)).all()
    assert [(d.endpoint_id, d.status) for d in deliveries] == [(wants.id, WebhookDeliveryStatus.PENDING)]
    # The attempt is a job, sent after the commit: no request is made inside the writing transaction.
    assert runtime.queue("default").job_ids == [f"webhook-{deliveries[0].id}-attempt-0"]  # type: ignore[attr-defined]
    session.close()


def test_a_rollback_drops_the_event_and_its_deliveries(
    runtime: Runtime, db_session: Session, redis_conn: Any
) -> None:
    _endpoint(db_session, [WebhookEvent.CAMPAIGN_FINISHED])
    db_session.commit()
    session = runtime.Session()
    events.emit(session, WebhookEvent.CAMPAIGN_FINISHED, {"campaign": 7})
    session.rollback()
    session.close()
    assert db_session.scalar(select(func.count()).select_from(OutgoingEvent)) == 0
    assert db_session.scalar(select(func.count()).select_from(WebhookDelivery)) == 0
    assert runtime.queue("default").job_ids == []  # type: ignore[attr-defined]
