"""Bounce and complaint rates: per campaign (its whole life, or a window) and per sending domain (a window).

A rate is reports about messages over those messages: the denominator is the deliveries that were sent
(`sent_at` set, whatever became of them since: a bounced delivery was sent), the numerator the reports
(delivery_feedback) naming one of those deliveries. A window counts the messages *sent* in it, so a
complaint arriving two days after its message counts against that message's day, as mailbox providers
count it. A report that named only an address (no delivery) counts in no rate.

Per sending domain: the From domain each report was recorded under (delivery_feedback.sending_domain),
over every email sent in the window. The organisation has one From address at a time, so this is that
domain's rate; after a change of address, the window mixes both until it has passed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from sender.enums import Channel, FeedbackKind
from sender.models import Campaign, Delivery, DeliveryFeedback
from sender.services.campaigns import tallies


@dataclass(frozen=True)
class Rates:
    """Messages sent, and the reports about them by kind."""

    sent: int = 0
    hard_bounces: int = 0
    soft_bounces: int = 0
    complaints: int = 0

    def percent(self, count: int) -> float:
        """`count` as a percentage of the messages sent (0 when none was)."""
        return 100.0 * count / self.sent if self.sent else 0.0

    @property
    def hard_bounce_rate(self) -> float:
        """Hard bounces, in % of messages sent."""
        return self.percent(self.hard_bounces)

    @property
    def soft_bounce_rate(self) -> float:
        """Soft bounces, in % of messages sent."""
        return self.percent(self.soft_bounces)

    @property
    def complaint_rate(self) -> float:
        """Complaints, in % of messages sent."""
        return self.percent(self.complaints)


def _kinds(session: Session, *where: ColumnElement[bool]) -> dict[str, int]:
    rows = session.execute(
        select(DeliveryFeedback.kind, func.count())
        .join(Delivery, Delivery.id == DeliveryFeedback.delivery_id)
        .where(*where)
        .group_by(DeliveryFeedback.kind)
    ).all()
    return {kind: count for kind, count in rows}


def _rates(sent: int, kinds: dict[str, int]) -> Rates:
    return Rates(
        sent,
        kinds.get(FeedbackKind.HARD_BOUNCE, 0),
        kinds.get(FeedbackKind.SOFT_BOUNCE, 0),
        kinds.get(FeedbackKind.COMPLAINT, 0),
    )


def campaign_window(session: Session, campaign_id: int, since: datetime) -> Rates:
    """A campaign's messages sent since `since`, and the reports about them."""
    window = (Delivery.campaign_id == campaign_id, Delivery.sent_at >= since)
    kinds = _kinds(session, *window)
    if not kinds:  # nothing reported: no need to count what was sent
        return Rates()
    sent = session.scalar(select(func.count()).select_from(Delivery).where(*window)) or 0
    return _rates(sent, kinds)


def _email_sent_since(session: Session, since: datetime) -> int:
    # From the summary counts by hour sent: counting the window's rows took a quarter second at a million.
    return tallies.sent_since(session, since, Campaign.channel == Channel.EMAIL)


def domain_window(session: Session, domain: str, since: datetime) -> Rates:
    """Email sent since `since`, and the reports about it recorded under `domain`."""
    kinds = _kinds(session, DeliveryFeedback.sending_domain == domain, Delivery.sent_at >= since)
    if not kinds:
        return Rates()
    return _rates(_email_sent_since(session, since), kinds)


def by_domain(session: Session, since: datetime, domains: Sequence[str] = ()) -> dict[str, Rates]:
    """Every domain with reports about email sent since `since` (and `domains`, even without any)."""
    rows = session.execute(
        select(DeliveryFeedback.sending_domain, DeliveryFeedback.kind, func.count())
        .join(Delivery, Delivery.id == DeliveryFeedback.delivery_id)
        .where(Delivery.sent_at >= since)
        .group_by(DeliveryFeedback.sending_domain, DeliveryFeedback.kind)
    ).all()
    kinds: dict[str, dict[str, int]] = {domain: {} for domain in domains if domain}
    for domain, kind, count in rows:
        kinds.setdefault(domain, {})[kind] = count
    if not kinds:
        return {}
    sent = _email_sent_since(session, since)
    return {domain: _rates(sent, counts) for domain, counts in sorted(kinds.items())}


def campaigns_total(session: Session, campaign_ids: Sequence[int]) -> dict[int, Rates]:
    """Each campaign's messages sent over its whole life, and the reports about them."""
    if not campaign_ids:
        return {}
    # From the summary counts: counting a million rows' sent_at would take seconds.
    sent = tallies.sent_counts(session, campaign_ids)
    kinds: dict[int, dict[str, int]] = {cid: {} for cid in campaign_ids}
    for campaign_id, kind, count in session.execute(
        select(Delivery.campaign_id, DeliveryFeedback.kind, func.count())
        .join(Delivery, Delivery.id == DeliveryFeedback.delivery_id)
        .where(Delivery.campaign_id.in_(campaign_ids))
        .group_by(Delivery.campaign_id, DeliveryFeedback.kind)
    ).all():
        kinds[campaign_id][kind] = count
    return {cid: _rates(sent.get(cid, 0), kinds[cid]) for cid in campaign_ids}


def campaigns_reported_since(session: Session, since: datetime, limit: int = 50) -> list[tuple[int, str]]:
    """(id, name) of the campaigns with reports about messages sent since `since`, newest first."""
    rows = session.execute(
        select(Campaign.id, Campaign.name)
        .where(
            Campaign.id.in_(
                select(Delivery.campaign_id)
                .join(DeliveryFeedback, DeliveryFeedback.delivery_id == Delivery.id)
                .where(Delivery.sent_at >= since)
            )
        )
        .order_by(Campaign.id.desc())
        .limit(limit)
    ).all()
    return [(row.id, row.name) for row in rows]
