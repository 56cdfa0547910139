"""Outgoing webhooks: the endpoints, the outbox of events, and each event's delivery to each endpoint."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from sender.db import Base, utcnow
from sender.enums import WebhookDeliveryStatus, WebhookEvent, one_of


def new_message_id() -> str:
    """The Standard Webhooks message id (`webhook-id`): opaque, unique, stable across retries."""
    return "msg_" + secrets.token_urlsafe(18)


class WebhookEndpoint(Base):
    """A receiver of signed events, set by an admin: an https URL, its secret and the events it wants."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(200), default="")
    # The Standard Webhooks secret ("whsec_" + base64); shown once, when the endpoint is made.
    secret: Mapped[str] = mapped_column(String(80))
    # The event types sent to this endpoint (values of enums.WebhookEvent).
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Off by default: payloads carry ids and the contact's public id only.
    include_addresses: Mapped[bool] = mapped_column(Boolean, default=False)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Deliveries in a row that ended without a 2xx answer; any success sets it back to 0.
    failures: Mapped[int] = mapped_column(Integer, default=0)
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class OutgoingEvent(Base):
    """One outgoing event (the outbox), written in the unit of work that wrote the fact; ids only."""

    __tablename__ = "webhook_events"
    __table_args__ = (CheckConstraint(one_of("event_type", WebhookEvent), name="event_type"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(40), unique=True, default=new_message_id)
    event_type: Mapped[str] = mapped_column(String(32))
    # Ids and public ids only (the contact's public id, never an address).
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The person the event is about, for the access report and erasure; none for contact.erased itself.
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class WebhookDelivery(Base):
    """One event's delivery to one endpoint: its attempts, its last answer and its next try."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "endpoint_id"),
        CheckConstraint(one_of("status", WebhookDeliveryStatus), name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("webhook_events.id", ondelete="CASCADE"), index=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default=WebhookDeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # The retry window (WEBHOOKS_RETRY_HOURS) runs from here: the delivery's creation, or its last replay.
    retry_since: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # When the next attempt is due (naive UTC); none once delivered, failed or skipped.
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The receiver's last HTTP status, or a short error code ("refused", "timeout") when none came.
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str] = mapped_column(String(32), default="")
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


# The delivery log of an endpoint, newest first; the sweep's search for due retries.
Index("ix_webhook_deliveries_endpoint_created", WebhookDelivery.endpoint_id, WebhookDelivery.created_at)
Index("ix_webhook_deliveries_status_due", WebhookDelivery.status, WebhookDelivery.next_attempt_at)
