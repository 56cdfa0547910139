"""Accountability records kept by the DPO: the processors inventory and the DPIAs of purposes."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, Date, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from sender.db import Base, utcnow
from sender.enums import DpiaOutcome, TransferMechanism, one_of


class ProcessorEntry(Base):
    """One processor of the inventory (GDPR Art. 28, 44-46); a channel's provider is keyed by the channel."""

    __tablename__ = "processors"
    __table_args__ = (
        CheckConstraint(one_of("transfer_mechanism", TransferMechanism), name="transfer_mechanism"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # "email", "sms" for the channels' providers; any other slug for hosting, support tools...
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(200))
    country: Mapped[str | None] = mapped_column(String(2))
    transfer_mechanism: Mapped[str | None] = mapped_column(String(16))
    contract_ref: Mapped[str | None] = mapped_column(String(200))
    since: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class PurposeDpia(Base):
    """Why a purpose needs a DPIA (Art. 35) and, once done, the record of it; its campaigns wait for it."""

    __tablename__ = "purpose_dpias"
    __table_args__ = (CheckConstraint(one_of("outcome", DpiaOutcome), name="outcome"),)

    purpose_id: Mapped[int] = mapped_column(ForeignKey("purposes.id", ondelete="CASCADE"), primary_key=True)
    # enums.DpiaReason values; empty: no DPIA is required any more.
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    reference: Mapped[str | None] = mapped_column(String(200))
    assessed_on: Mapped[date | None] = mapped_column(Date)
    outcome: Mapped[str | None] = mapped_column(String(32))
    reviewer: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
