"""Campaigns, their audience lists and one delivery row per (campaign, contact)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sender.db import Base, utcnow
from sender.enums import (
    AbDecision,
    BodyFormat,
    CampaignKind,
    CampaignStatus,
    Channel,
    DeliveryStatus,
    TrackingMode,
    one_of,
)
from sender.models.contacts import ContactList
from sender.models.library import Template

CAMPAIGN_STATUSES = tuple(CampaignStatus)
CAMPAIGN_KINDS = tuple(CampaignKind)
DELIVERY_STATUSES = tuple(DeliveryStatus)

campaign_lists = Table(
    "campaign_lists",
    Base.metadata,
    Column("campaign_id", ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True),
    Column("list_id", ForeignKey("lists.id", ondelete="CASCADE"), primary_key=True),
)


class Campaign(Base):
    """A message for one purpose on one channel, sent to the consenting members of some lists."""

    __tablename__ = "campaigns"
    __table_args__ = (
        CheckConstraint(one_of("status", CampaignStatus), name="status"),
        CheckConstraint(one_of("kind", CampaignKind), name="kind"),
        CheckConstraint(one_of("channel", Channel), name="channel"),
        CheckConstraint(one_of("body_format", BodyFormat), name="body_format"),
        CheckConstraint(one_of("tracking_mode", TrackingMode), name="tracking_mode"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    purpose_id: Mapped[int] = mapped_column(ForeignKey("purposes.id"), index=True)
    channel: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(16), default="marketing")
    # Language of the system texts (footer) for contacts without one of their own; None: the organisation's.
    locale: Mapped[str | None] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(255), default="")
    # The body as written, in its format; body_html is derived from them at each save (formats.to_html), and
    # only body_html is rendered and sanitised for sending, whatever the format.
    body_format: Mapped[str] = mapped_column(String(16), default=BodyFormat.HTML)
    body_source: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    body_text: Mapped[str] = mapped_column(Text, default="")
    # True: body_text is derived from body_html at each save; False: it is kept as its author wrote it.
    body_text_derived: Mapped[bool] = mapped_column(Boolean, default=False)
    # The layout the body is wrapped in (templates), or none: the body alone.
    template_id: Mapped[int | None] = mapped_column(ForeignKey("templates.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    scheduled_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    launched_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Set once every audience member has its delivery row; until then the campaign cannot finish.
    planned_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Why the circuit breaker paused it (enums.BreakerTrip); None for a pause by a person. Resume clears it.
    paused_reason: Mapped[str | None] = mapped_column(String(16))
    # When a person last resumed it: the circuit breaker counts from then, so a resume is not undone at once.
    resumed_at: Mapped[datetime | None] = mapped_column(DateTime)
    # How clicks and opens are measured (R54, R56); off for every new campaign (R72).
    tracking_mode: Mapped[str] = mapped_column(String(16), default=TrackingMode.OFF)

    lists: Mapped[list[ContactList]] = relationship(secondary=campaign_lists)
    template: Mapped[Template | None] = relationship()
    # An A/B test: the campaign's own content is variant 0 (A); the test's variants are 1, 2, 3 (B, C, D).
    ab_test: Mapped[AbTest | None] = relationship(
        back_populates="campaign", cascade="all, delete-orphan", uselist=False
    )


class AbTest(Base):
    """A campaign's A/B test: each variant goes to `test_percent` % of the audience, the rest waits for the winner.

    The winner is the variant with the most unique aggregate clicks once `wait_minutes` have passed since the
    launch (`decide_by` clicks), or the one a person picks. Every send, test or winner, passes the gate.
    """

    __tablename__ = "ab_tests"
    __table_args__ = (CheckConstraint(one_of("decide_by", AbDecision), name="decide_by"),)

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True)
    test_percent: Mapped[int] = mapped_column(Integer)
    wait_minutes: Mapped[int] = mapped_column(Integer)
    decide_by: Mapped[str] = mapped_column(String(16), default=AbDecision.CLICKS)
    # Set when the campaign launches (launched_at + wait); the decision job and the sweep read it.
    decide_at: Mapped[datetime | None] = mapped_column(DateTime)
    winner: Mapped[int | None] = mapped_column(Integer)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Who chose: a user's name, or "scheduler" for the automatic decision.
    decided_by: Mapped[str | None] = mapped_column(String(64))
    # The figures the decision saw, per variant: {"0": {"sent": n, "unique_clicks": n, "clicks": n}, …}.
    figures: Mapped[dict[str, dict[str, int]] | None] = mapped_column(JSON)

    campaign: Mapped[Campaign] = relationship(back_populates="ab_test")
    variants: Mapped[list[CampaignVariant]] = relationship(
        cascade="all, delete-orphan", order_by="CampaignVariant.position"
    )


class CampaignVariant(Base):
    """One alternative content of an A/B test (B, C or D), stored whole: subject and both bodies."""

    __tablename__ = "campaign_variants"
    __table_args__ = (UniqueConstraint("campaign_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("ab_tests.campaign_id", ondelete="CASCADE"))
    # 1, 2 or 3: variant B, C or D (0, A, is the campaign's own content).
    position: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(String(255), default="")
    body_source: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    body_text: Mapped[str] = mapped_column(Text, default="")


class Delivery(Base):
    """The fate of one campaign for one contact: queued, skipped with a reason, sent, failed or unknown."""

    __tablename__ = "deliveries"
    __table_args__ = (
        # `round` is 0 for a campaign; a sequence step's delivery carries its enrolment's id, so a person who
        # enters a sequence again gets each step once more, and each (enrolment, step) at most once.
        UniqueConstraint("campaign_id", "contact_id", "round"),
        CheckConstraint(one_of("status", DeliveryStatus), name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    round: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    batch_no: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claim_token: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Set just before the claimed message is handed to the provider (SMTP transaction, Twilio call): only a
    # started claim may have reached the person; an expired claim that never started goes back to the queue.
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    provider_id: Mapped[str | None] = mapped_column(String(255))
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # A deferred delivery (quiet hours) goes back to the queue at this moment (naive UTC).
    not_before: Mapped[datetime | None] = mapped_column(DateTime)
    # The provider's own delivery status (Twilio: queued, sent, delivered, undelivered, failed…).
    provider_status: Mapped[str | None] = mapped_column(String(16))
    # The A/B variant this person receives (0 = A); None: the campaign has no test, or the winner is not chosen.
    variant: Mapped[int | None] = mapped_column(Integer)


Index("ix_deliveries_campaign_batch_status", Delivery.campaign_id, Delivery.batch_no, Delivery.status)
Index("ix_deliveries_campaign_status_id", Delivery.campaign_id, Delivery.status, Delivery.id)
Index("ix_deliveries_status_not_before", Delivery.status, Delivery.not_before)
# The circuit breaker counts the messages sent in its window (services/deliverability/rates.py).
Index("ix_deliveries_sent_at", Delivery.sent_at)
# Compaction walks deliveries by age (services/campaigns/compaction.py).
Index("ix_deliveries_created_at", Delivery.created_at)


class DeliveryTally(Base):
    """A change in a campaign's delivery rows by status, reason, A/B variant and hour sent: +n inserted or
    moved in, -n moved out or deleted. Written only by the database's triggers on `deliveries` (migrations
    0028 and 0036), in the statement that changed the rows; summed, the changes are the rows' counts without
    reading the rows.

    Append-only (no upsert): concurrent workers never wait on, nor deadlock over, a shared counter row.
    Compaction folds them into one row per key (tallies.fold)."""

    __tablename__ = "delivery_tallies"
    __table_args__ = (CheckConstraint(one_of("status", DeliveryStatus), name="status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    # "" for none, as in delivery_counts.
    reason: Mapped[str] = mapped_column(String(32), default="")
    # The rows' A/B variant (None: none), as on the delivery: a test's report counts each variant's messages.
    variant: Mapped[int | None] = mapped_column(Integer)
    # The hour sent_at falls in (None: not sent): rates count the messages sent in a window
    # (deliverability/rates.py), the dashboard those of its last days.
    sent_hour: Mapped[datetime | None] = mapped_column(DateTime)
    delta: Mapped[int] = mapped_column(Integer)


# delivery_counts' variant of rows without one: a primary key column cannot be NULL (variants are 0-3).
NO_VARIANT = -1


class DeliveryCount(Base):
    """Deliveries of a campaign compacted by age (DELIVERY_DETAIL_DAYS): how many, by status, reason and
    A/B variant."""

    __tablename__ = "delivery_counts"
    __table_args__ = (CheckConstraint(one_of("status", DeliveryStatus), name="status"),)

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    # "" for none: a primary key column cannot be NULL.
    reason: Mapped[str] = mapped_column(String(32), primary_key=True, default="")
    variant: Mapped[int] = mapped_column(
        Integer, primary_key=True, default=NO_VARIANT, server_default=str(NO_VARIANT), autoincrement=False
    )
    count: Mapped[int] = mapped_column(Integer, default=0)
