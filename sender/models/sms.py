"""Incoming SMS: what each reply was taken for (opt-out, near miss, START, HELP) and what was done."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sender.db import Base, utcnow

INBOUND_KINDS = ("opt_out", "near_miss", "opt_in", "help", "other")
INBOUND_ACTIONS = ("withdrawn", "flagged", "dismissed", "unblocked", "answered", "none")


class InboundSms(Base):
    """One message a person sent to one of our numbers; Twilio's message SID makes it idempotent."""

    __tablename__ = "inbound_sms"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_sid: Mapped[str] = mapped_column(String(64), unique=True)
    phone_hash: Mapped[str] = mapped_column(String(64), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(16))
    keyword: Mapped[str | None] = mapped_column(String(32))
    # Kept only when a person must read it (a near miss flagged for review); otherwise never stored.
    body: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime)
