"""The event port: one outgoing event per fact, in the caller's unit, with a delivery per endpoint that wants it."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from sender import work
from sender.db import utcnow
from sender.enums import WebhookDeliveryStatus, WebhookEvent
from sender.models import AuditEvent, Contact, OutgoingEvent, Purpose, WebhookDelivery, WebhookEndpoint
from sender.runtime import Runtime
from sender.services.rights import access, erasure
from sender.services.webhooks import delivery, endpoints, events
from tests.campaign_helpers import grant
from tests.factories import ContactFactory, PurposeFactory, WordingFactory


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


def test_the_access_report_lists_the_webhook_deliveries_about_the_person_and_erasure_removes_them(
    runtime: Runtime, db_session: Session, redis_conn: Any
) -> None:
    purpose = PurposeFactory()
    WordingFactory(purpose=purpose)
    contact = ContactFactory(email="jules@example.org")
    _endpoint(db_session, [WebhookEvent.CONSENT_GRANTED, WebhookEvent.CONTACT_ERASED])
    db_session.commit()
    session = runtime.Session()
    grant(session, session.get(Contact, contact.id), session.get(Purpose, purpose.id))
    work.commit(session, "test")

    listed = access.report(session, runtime.settings, session.get(Contact, contact.id))["webhook_deliveries"]
    assert [(w["event"], w["recipient"], w["status"]) for w in listed] == [
        ("consent.granted", "hooks.example.org", "pending")
    ]

    erasure.erase(session, runtime.settings, session.get(Contact, contact.id), actor="dpo", notify=False)
    work.commit(session, "erase")
    remaining = session.scalars(select(OutgoingEvent).order_by(OutgoingEvent.id)).all()
    # Only contact.erased stays, linked to no one and carrying the public id alone.
    assert [(e.event_type, e.contact_id, e.payload) for e in remaining] == [
        ("contact.erased", None, {"contact": contact.public_id})
    ]
    assert (
        access.report(session, runtime.settings, session.get(Contact, contact.id))["webhook_deliveries"] == []
    )
    session.close()


def test_addresses_reach_a_payload_only_where_an_admin_turned_them_on_and_that_is_audited(
    runtime: Runtime, db_session: Session, redis_conn: Any
) -> None:
    contact = ContactFactory(email="lou@example.org")
    endpoint = _endpoint(db_session, [WebhookEvent.CONTACT_RESTRICTED])
    db_session.commit()
    session = runtime.Session()
    event = events.emit(
        session, WebhookEvent.CONTACT_RESTRICTED, {"contact": contact.public_id}, contact_id=contact.id
    )
    work.commit(session, "test")
    stored = session.get(WebhookEndpoint, endpoint.id)
    assert stored is not None
    assert b"lou@example.org" not in delivery.body_of(session, event, stored)

    endpoints.update(
        session, runtime.settings, stored, endpoints.EndpointPatch.parse({"include_addresses": True}), "admin"
    )
    work.commit(session, "test")
    assert json.loads(delivery.body_of(session, event, stored))["data"]["email"] == "lou@example.org"
    actions = session.scalars(
        select(AuditEvent.action).where(AuditEvent.subject_type == "webhook_endpoint")
    ).all()
    assert "webhook.include_addresses_on" in actions
    session.close()


def test_events_no_endpoint_wanted_and_old_settled_ones_are_purged_waiting_ones_stay(
    runtime: Runtime, db_session: Session, redis_conn: Any
) -> None:
    endpoint = _endpoint(db_session, [WebhookEvent.CAMPAIGN_FINISHED])
    db_session.commit()
    session = runtime.Session()
    unwanted = events.emit(session, WebhookEvent.CONTACT_ERASED, {"contact": "p1"})
    waiting = events.emit(session, WebhookEvent.CAMPAIGN_FINISHED, {"campaign": 1})
    settled = events.emit(session, WebhookEvent.CAMPAIGN_FINISHED, {"campaign": 2})
    work.commit(session, "test")
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.event_id == settled.id)
        .values(status=WebhookDeliveryStatus.DELIVERED)
    )
    work.commit(session, "test")
    now = utcnow()

    assert events.purge(session, 30, now) == 0  # nothing is old enough yet
    assert events.purge(session, 30, now + timedelta(days=2)) == 1  # the event no endpoint wanted
    assert events.purge(session, 30, now + timedelta(days=31)) == 1  # the settled one; the waiting one stays
    work.commit(session, "test")
    assert session.scalars(select(OutgoingEvent.id)).all() == [waiting.id]
    assert session.scalars(select(WebhookDelivery.endpoint_id)).all() == [endpoint.id]
    assert unwanted.id != waiting.id
    session.close()
