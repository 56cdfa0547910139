"""Bounce and complaint reports, one row per report applied: the idempotency key and the rates' source."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sender.db import Base, utcnow
from sender.enums import FeedbackKind, one_of


class DeliveryFeedback(Base):
    """A hard bounce, soft bounce or complaint applied to one delivery (or one contact); ids and hashes only."""

    __tablename__ = "delivery_feedback"
    __table_args__ = (
        # The same report, twice through any door, has its effect once: the key hashes the source with the
        # report's id (the mail doors, IMAP and SMTP, share one source family: the same DSN may reach both).
        UniqueConstraint("report_key"),
        # A delivery takes each kind once, whichever report told it (a DSN and a provider webhook alike).
        UniqueConstraint("delivery_id", "kind"),
        CheckConstraint(one_of("kind", FeedbackKind), name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int | None] = mapped_column(
        ForeignKey("deliveries.id", ondelete="SET NULL"), index=True
    )
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="SET NULL"), index=True
    )
    # Soft bounces are counted per contact; a report that named only an address has no delivery.
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))
    # Keyed hash (HMAC) of the source family and the report's id: fixed length, no provider text in clear.
    report_key: Mapped[str] = mapped_column(String(64))
    # The From domain the message left with, for rates per sending domain.
    sending_domain: Mapped[str] = mapped_column(String(255), default="")
    # A short diagnostic code ("5.1.1"), never the report's text.
    detail: Mapped[str] = mapped_column(String(32), default="")
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


Index("ix_delivery_feedback_domain_received", DeliveryFeedback.sending_domain, DeliveryFeedback.received_at)
