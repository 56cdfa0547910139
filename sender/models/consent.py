"""Purposes (Art. 30 register entries), consent wordings, the append-only consent ledger and its state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column

from sender.db import Base, utcnow
from sender.enums import Channel, ConsentAction, ConsentSource, ConsentStatus, PurposeKind, one_of

LEGAL_BASES = ("consent", "legitimate_interest", "contract", "legal_obligation")


class Purpose(Base):
    """Why we process data: one entry of the register of processing (GDPR Art. 30)."""

    __tablename__ = "purposes"
    __table_args__ = (CheckConstraint(one_of("kind", PurposeKind), name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[str] = mapped_column(String(32), default="consent")
    # Tracking: consent to be measured in messages (R54), asked and kept apart from any other (R55).
    kind: Mapped[str] = mapped_column(String(16), default=PurposeKind.MARKETING)
    retention_days: Mapped[int] = mapped_column(Integer, default=1095)
    # No column default: the ORM would put it in place of an explicit None ("never expires").
    consent_validity_days: Mapped[int | None] = mapped_column(Integer)
    requires_double_opt_in: Mapped[bool] = mapped_column(Boolean, default=False)
    data_categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    processors: Mapped[list[str]] = mapped_column(JSON, default=list)
    transfers: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ConsentWording(Base):
    """The exact text shown when consent was asked; versions are immutable once written."""

    __tablename__ = "consent_wordings"
    __table_args__ = (UniqueConstraint("purpose_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose_id: Mapped[int] = mapped_column(ForeignKey("purposes.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    privacy_notice_version: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ConsentEvent(Base):
    """One grant, request or withdrawal, with its proof (GDPR Art. 7(1)); never updated or deleted."""

    __tablename__ = "consent_events"
    __table_args__ = (
        CheckConstraint(one_of("channel", Channel), name="channel"),
        CheckConstraint(one_of("action", ConsentAction), name="action"),
        CheckConstraint(one_of("source", ConsentSource), name="source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    purpose_id: Mapped[int] = mapped_column(ForeignKey("purposes.id"), index=True)
    channel: Mapped[str] = mapped_column(String(8))
    action: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    source: Mapped[str] = mapped_column(String(32))
    mechanism: Mapped[str] = mapped_column(String(32))
    wording_id: Mapped[int | None] = mapped_column(ForeignKey("consent_wordings.id"))
    collection_point: Mapped[str | None] = mapped_column(String(255))
    actor: Mapped[str] = mapped_column(String(64))
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)


class ConsentState(Base):
    """Current consent per (contact, purpose, channel), materialised from the ledger in the same transaction."""

    __tablename__ = "consent_states"
    __table_args__ = (
        CheckConstraint(one_of("channel", Channel), name="channel"),
        CheckConstraint(one_of("status", ConsentStatus), name="status"),
    )

    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True)
    purpose_id: Mapped[int] = mapped_column(ForeignKey("purposes.id"), primary_key=True, index=True)
    channel: Mapped[str] = mapped_column(String(8), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    since: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_event_id: Mapped[int] = mapped_column(ForeignKey("consent_events.id"))


class ImmutableRecord(Exception):
    """Raised when code tries to change evidence that must stay as written."""


def _refuse_change(_mapper: Any, _connection: Any, target: Any) -> None:
    raise ImmutableRecord(f"{type(target).__name__} rows are append-only")


for _model in (ConsentEvent, ConsentWording):
    event.listen(_model, "before_update", _refuse_change)
    event.listen(_model, "before_delete", _refuse_change)
