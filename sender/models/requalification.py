"""Requalification cycles (one per requalification campaign), their asks, and the locks of cron runs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sender.db import Base, utcnow
from sender.enums import AskStatus

ASK_STATUSES = tuple(AskStatus)
SILENCE_POLICIES = ("erase", "archive")


class Requalification(Base):
    """The cycle of a requalification campaign: its deadline and the DPO approval it cannot start without."""

    __tablename__ = "requalifications"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True)
    deadline: Mapped[datetime] = mapped_column(DateTime)
    wording_version: Mapped[int] = mapped_column(Integer)
    approved_by: Mapped[str | None] = mapped_column(String(64))
    approved_at: Mapped[datetime | None] = mapped_column(DateTime)
    approval_note: Mapped[str | None] = mapped_column(Text)
    # Set by the run that closed every ask after the deadline.
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)


class RequalificationAsk(Base):
    """One legacy contact asked once in one cycle, and what became of the question."""

    __tablename__ = "requalification_asks"
    __table_args__ = (UniqueConstraint("campaign_id", "contact_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    purpose_id: Mapped[int] = mapped_column(ForeignKey("purposes.id"))
    status: Mapped[str] = mapped_column(String(16), default=AskStatus.ASKED)
    asked_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime)


class CronLock(Base):
    """A named lease held by one cron run at a time (works the same on SQLite and PostgreSQL)."""

    __tablename__ = "cron_locks"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(64))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)


Index("ix_requalification_asks_campaign_status", RequalificationAsk.campaign_id, RequalificationAsk.status)
