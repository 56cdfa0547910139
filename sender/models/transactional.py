"""Transactional messages: one templated message to one contact under a contract or legal-obligation purpose."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, DateTime, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sender.db import Base, utcnow
from sender.enums import TransactionalStatus, one_of
from sender.models.contacts import new_public_id


class TransactionalMessage(Base):
    """One message asked through `POST /api/v1/messages`, with the key that makes asking again harmless."""

    __tablename__ = "transactional_messages"
    __table_args__ = (
        # An Idempotency-Key is the caller's: two API users may pick the same one.
        UniqueConstraint("requested_by", "idempotency_key"),
        CheckConstraint(one_of("status", TransactionalStatus), name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    requested_by: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    # SHA-256 of the request's body: the same key with another body is refused (409).
    request_hash: Mapped[str] = mapped_column(String(64))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    purpose_id: Mapped[int] = mapped_column(ForeignKey("purposes.id"))
    # The templates as asked (rendered at send time); erased with the person.
    subject: Mapped[str] = mapped_column(Text)
    body_text: Mapped[str] = mapped_column(Text)
    # The request's `variables`, shown to the templates as `vars` when the message is built.
    variables: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default=TransactionalStatus.QUEUED)
    # A short reason when failed or skipped ("restricted", "smtp 550"), never the provider's text.
    reason: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Committed just before the message is handed to the relay: a message lost after it is `unknown`, never
    # sent twice; one lost before it is asked for again by the sweep.
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
