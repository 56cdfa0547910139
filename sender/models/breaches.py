"""The breach register (GDPR Art. 33-34): incidents, and the legal notices sent to the people affected."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sender.db import Base, utcnow


class BreachIncident(Base):
    """One personal data breach: what happened, to whom, and when the authority was told (R74)."""

    __tablename__ = "breach_incidents"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    facts: Mapped[str] = mapped_column(Text)
    data_categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Approximate numbers (Art. 33(3)(a)): an estimate is expected while the facts are gathered.
    people_affected: Mapped[int] = mapped_column(Integer, default=0)
    records_affected: Mapped[int] = mapped_column(Integer, default=0)
    likely_consequences: Mapped[str] = mapped_column(Text, default="")
    measures_taken: Mapped[str] = mapped_column(Text, default="")
    # Whether the breach is likely to result in a high risk to people (Art. 34: they must be told).
    high_risk: Mapped[bool] = mapped_column(Boolean, default=False)
    # Naive UTC: the moment the organisation became aware; the 72-hour clock starts here (Art. 33(1)).
    aware_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    notified_at: Mapped[datetime | None] = mapped_column(DateTime)
    notification_reference: Mapped[str | None] = mapped_column(String(200))
    # Required when notified_at is past the deadline (Art. 33(1), last sentence).
    late_reasons: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class BreachNotice(Base):
    """A `legal_notice` campaign telling the people affected (Art. 34), and the DPO's approval of it."""

    __tablename__ = "breach_notices"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("breach_incidents.id"), index=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    approved_by: Mapped[str | None] = mapped_column(String(64))
    approved_at: Mapped[datetime | None] = mapped_column(DateTime)
    approval_note: Mapped[str | None] = mapped_column(Text)
    # SHA-256 of the content approved: an edit after the approval calls for a new one.
    approved_digest: Mapped[str | None] = mapped_column(String(64))
