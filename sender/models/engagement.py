"""Engagement: the links of a campaign's rendered content, click and open events, and their daily counts.

An event names a person (its delivery) only when the click or open came through a per-person link of a
contact who gave tracking consent; every other event names no one. Its `visitor_key` is a keyed hash under
a salt that changes every day and is never written anywhere (services/engagement/visitors.py): it tells two
clicks of one visitor on one day apart from two visitors, and nothing else (the aggregate measurement the
CNIL exempts from consent).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from sender.db import Base, utcnow
from sender.enums import EngagementClass, EngagementKind, one_of


class CampaignLink(Base):
    """One distinct link of a campaign's rendered content (per A/B variant): the only targets a redirect knows."""

    __tablename__ = "campaign_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    # The A/B variant whose content holds the link (None: the campaign has no variants).
    variant: Mapped[int | None] = mapped_column(SmallInteger)
    # Position of the link's first appearance in the content: reports list links in reading order.
    position: Mapped[int] = mapped_column(Integer, default=0)
    url: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class EngagementEvent(Base):
    """One click or open: kept TRACKING_RETENTION, then folded into EngagementDaily by `sender retention run`."""

    __tablename__ = "engagement_events"
    __table_args__ = (
        CheckConstraint(one_of("kind", EngagementKind), name="kind"),
        CheckConstraint(one_of("classification", EngagementClass), name="classification"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    variant: Mapped[int | None] = mapped_column(SmallInteger)
    link_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaign_links.id", ondelete="CASCADE"), index=True
    )
    # Only for a per-person link of a contact with tracking consent; erasure sets it to NULL.
    delivery_id: Mapped[int | None] = mapped_column(
        ForeignKey("deliveries.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(String(8))
    classification: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Keyed hash under the day's salt (never stored): unique visitors per day, no one identified.
    visitor_key: Mapped[str | None] = mapped_column(String(32))


# Reports read a campaign's events by kind and time; retention walks them by age.
Index(
    "ix_engagement_events_campaign_kind",
    EngagementEvent.campaign_id,
    EngagementEvent.kind,
    EngagementEvent.classification,
    EngagementEvent.occurred_at,
)
Index("ix_engagement_events_occurred_at", EngagementEvent.occurred_at)


class EngagementDaily(Base):
    """Events older than TRACKING_RETENTION, counted per day: totals and the day's unique visitors."""

    __tablename__ = "engagement_daily"
    __table_args__ = (
        CheckConstraint(one_of("kind", EngagementKind), name="kind"),
        CheckConstraint(one_of("classification", EngagementClass), name="classification"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    variant: Mapped[int | None] = mapped_column(SmallInteger)
    link_id: Mapped[int | None] = mapped_column(ForeignKey("campaign_links.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(8))
    classification: Mapped[str] = mapped_column(String(16))
    count: Mapped[int] = mapped_column(Integer, default=0)
    # Distinct visitor keys of that day: the salt changes daily, so a day's uniques are final.
    visitors: Mapped[int] = mapped_column(Integer, default=0)


class EngagementRollup(Base):
    """A whole past day of events still kept, counted (`retention.rollup`): reports read these, not the rows.

    Three sets of rows per campaign, day, kind and class: per link (`link_id`), per A/B variant (no link),
    and for the campaign as a whole (`all_variants`, no link, no variant), each with its count and its
    distinct visitor keys. The events themselves stay until TRACKING_RETENTION (the person's own are still
    listed); folding a day into EngagementDaily deletes that day's rollup rows.
    """

    __tablename__ = "engagement_rollups"
    __table_args__ = (
        CheckConstraint(one_of("kind", EngagementKind), name="kind"),
        CheckConstraint(one_of("classification", EngagementClass), name="classification"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    variant: Mapped[int | None] = mapped_column(SmallInteger)
    link_id: Mapped[int | None] = mapped_column(ForeignKey("campaign_links.id", ondelete="CASCADE"))
    all_variants: Mapped[bool] = mapped_column(Boolean, default=False)
    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(8))
    classification: Mapped[str] = mapped_column(String(16))
    count: Mapped[int] = mapped_column(Integer, default=0)
    visitors: Mapped[int] = mapped_column(Integer, default=0)


# A report reads one campaign's rollups, and the last day rolled up is where its raw events begin.
Index("ix_engagement_rollups_campaign_day", EngagementRollup.campaign_id, EngagementRollup.day)
Index("ix_engagement_rollups_day", EngagementRollup.day)
