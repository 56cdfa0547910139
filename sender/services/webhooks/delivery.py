"""Delivering one event to one endpoint: sign (Standard Webhooks), POST, record, retry with backoff.

An attempt reads what it sends in a read-only session, makes the request with no transaction open, then
records the outcome in a unit of its own. The outcome is recorded only if the delivery still waits for this
attempt (a compare-and-set on `attempts`), so a duplicate job changes nothing. A failure schedules the next
attempt (the first retry after WEBHOOKS_FIRST_RETRY seconds, each next one twice as late) until the retry
window is over; the sweep finds due attempts in the database, so a Redis outage delays them and loses none.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from standardwebhooks.webhooks import Webhook

from sender import work
from sender.config_outgoing import OutgoingSettings
from sender.db import utcnow
from sender.enums import ContactStatus, WebhookDeliveryStatus
from sender.models import Contact, OutgoingEvent, WebhookDelivery, WebhookEndpoint
from sender.runtime import Runtime
from sender.services.webhooks import transport
from sender.services.webhooks.notices import endpoint_disabled
from sender.work.jobs import DeliverWebhook


@dataclass(frozen=True)
class Request:
    """What one attempt sends, read before the request is made."""

    url: str
    endpoint_id: int
    body: bytes
    headers: dict[str, str]


def body_of(session: Session, event: OutgoingEvent, endpoint: WebhookEndpoint) -> bytes:
    """The JSON body: the event's type, time and ids (the contact's addresses only when the endpoint asks)."""
    data: dict[str, Any] = dict(event.payload)
    if endpoint.include_addresses and event.contact_id is not None:
        contact = session.get(Contact, event.contact_id)
        if contact is not None and contact.status != ContactStatus.ERASED:
            data["email"], data["phone"] = contact.email, contact.phone
    document = {
        "type": event.event_type,
        "timestamp": event.created_at.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z"),
        "data": data,
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


def sign(secret: str, message_id: str, body: bytes, at: datetime) -> dict[str, str]:
    """The three Standard Webhooks headers for `body`, signed with the endpoint's secret at `at`."""
    signature = Webhook(secret).sign(message_id, at, body.decode())
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
    }


def _prepare(session: Session, delivery_id: int, attempt: int) -> Request | None:
    row = session.get(WebhookDelivery, delivery_id)
    if row is None or row.status != WebhookDeliveryStatus.PENDING or row.attempts != attempt:
        return None
    endpoint = session.get(WebhookEndpoint, row.endpoint_id)
    event = session.get(OutgoingEvent, row.event_id)
    if endpoint is None or event is None:
        return None
    body = body_of(session, event, endpoint)
    headers = sign(endpoint.secret, event.message_id, body, datetime.now(UTC))
    return Request(endpoint.url, endpoint.id, body, headers)


def next_delay(settings: OutgoingSettings, attempts: int) -> timedelta:
    """The wait before attempt number `attempts` (1 for the first retry): doubling from the first retry's."""
    return timedelta(seconds=settings.first_retry_seconds * 2 ** min(attempts - 1, 20))


def attempt(runtime: Runtime, delivery_id: int, attempt_no: int) -> str:
    """Make attempt `attempt_no` of one delivery and record its outcome; the outcome's name."""
    with work.reading(runtime.Session) as session:
        request = _prepare(session, delivery_id, attempt_no)
    if request is None:
        return "stale"
    with work.reading(runtime.Session) as session:
        enabled = session.scalar(
            select(WebhookEndpoint.enabled).where(WebhookEndpoint.id == request.endpoint_id)
        )
    if not enabled:
        with work.unit(runtime.Session, "webhook-skip") as session:
            _skip(session, delivery_id, attempt_no)
        return WebhookDeliveryStatus.SKIPPED.value
    answer = transport.post(request.url, request.body, request.headers, runtime.settings.outgoing)
    with work.unit(runtime.Session, "webhook-outcome") as session:
        return record(session, runtime.settings.outgoing, delivery_id, attempt_no, answer)


def _skip(session: Session, delivery_id: int, attempt_no: int) -> None:
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.attempts == attempt_no)
        .values(status=WebhookDeliveryStatus.SKIPPED, next_attempt_at=None)
    )


def record(
    session: Session, settings: OutgoingSettings, delivery_id: int, attempt_no: int, answer: transport.Answer
) -> str:
    """Record one attempt's answer in this unit: delivered, a retry scheduled, or failed for good."""
    now = utcnow()
    row = session.get(WebhookDelivery, delivery_id, with_for_update=True)
    if row is None or row.status != WebhookDeliveryStatus.PENDING or row.attempts != attempt_no:
        return "stale"
    endpoint = session.get(WebhookEndpoint, row.endpoint_id, with_for_update=True)
    if endpoint is None:
        return "stale"
    row.attempts = attempt_no + 1
    row.last_attempt_at = now
    row.last_status = answer.status
    row.last_error = answer.error.value if answer.error else ""
    if answer.ok:
        row.status, row.delivered_at, row.next_attempt_at = WebhookDeliveryStatus.DELIVERED, now, None
        endpoint.failures = 0
        return WebhookDeliveryStatus.DELIVERED.value
    endpoint.failures += 1
    due = now + next_delay(settings, row.attempts)
    if due > row.retry_since + timedelta(hours=settings.retry_hours):
        row.status, row.next_attempt_at = WebhookDeliveryStatus.FAILED, None
    else:
        row.next_attempt_at = due
        work.schedule_at(session, DeliverWebhook(row.id, row.attempts), due)
    if endpoint.enabled and endpoint.failures >= settings.disable_after:
        disable(session, endpoint, now)
        endpoint_disabled(session, endpoint)
    return row.status if row.status != WebhookDeliveryStatus.PENDING else "retry"


def disable(session: Session, endpoint: WebhookEndpoint, now: datetime) -> None:
    """Disable an endpoint: nothing more is sent to it, its waiting deliveries are skipped."""
    endpoint.enabled, endpoint.disabled_at = False, now
    session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.endpoint_id == endpoint.id,
            WebhookDelivery.status == WebhookDeliveryStatus.PENDING,
        )
        .values(status=WebhookDeliveryStatus.SKIPPED, next_attempt_at=None)
    )


def requeue_due(session: Session, margin_seconds: int) -> int:
    """Ask again for every attempt due more than `margin_seconds` ago (the sweep: Redis may have lost it)."""
    cutoff = utcnow() - timedelta(seconds=margin_seconds)
    rows = session.execute(
        select(WebhookDelivery.id, WebhookDelivery.attempts).where(
            WebhookDelivery.status == WebhookDeliveryStatus.PENDING,
            WebhookDelivery.next_attempt_at <= cutoff,
        )
    ).all()
    for delivery_id, attempts in rows:
        work.enqueue(session, DeliverWebhook(delivery_id, attempts))
    return len(rows)


def replay(session: Session, row: WebhookDelivery) -> None:
    """Send a delivery again (same webhook-id, a fresh retry window), whatever its outcome was."""
    now = utcnow()
    row.status, row.retry_since, row.next_attempt_at = WebhookDeliveryStatus.PENDING, now, now
    work.enqueue(session, DeliverWebhook(row.id, row.attempts))
