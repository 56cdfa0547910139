"""What the dashboard shows: campaigns in progress, consent movements, delivery outcomes, overdue work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sender.enums import CampaignStatus, DeliveryStatus
from sender.models import Campaign, ConsentEvent, Delivery, Purpose
from sender.services.campaigns import lifecycle

IN_PROGRESS = (CampaignStatus.SENDING, CampaignStatus.PAUSED)
# A scheduled campaign this late was missed by the scheduler (stopped worker, lost queue).
SCHEDULE_GRACE = timedelta(minutes=5)


@dataclass(frozen=True)
class Progress:
    """Deliveries of a campaign that are settled (sent, failed, skipped...) out of all planned."""

    campaign_id: int
    name: str
    status: str
    done: int
    total: int
    by_status: dict[str, int]

    @property
    def percent(self) -> int:
        """Whole percent settled; 100 only when everything is."""
        if not self.total:
            return 100 if self.status == CampaignStatus.SENT else 0
        return (self.done * 100) // self.total


@dataclass(frozen=True)
class Overdue:
    """Something that should have happened and has not."""

    kind: str
    campaign_id: int
    name: str
    since: datetime


PENDING = (DeliveryStatus.QUEUED, DeliveryStatus.SENDING)


def progress(session: Session, campaign: Campaign) -> Progress:
    """One campaign's progress from its delivery counts."""
    report = lifecycle.report_for(session, campaign.id)
    return progress_from(campaign, report.by_status)


def progress_from(campaign: Campaign, by_status: dict[str, int]) -> Progress:
    """Progress from delivery counts by status already at hand."""
    total = sum(by_status.values())
    done = total - sum(by_status.get(status, 0) for status in PENDING)
    return Progress(campaign.id, campaign.name, campaign.status, done, total, by_status)


def in_progress(session: Session) -> list[Progress]:
    """Campaigns being sent or paused, with their progress."""
    campaigns = session.scalars(
        select(Campaign).where(Campaign.status.in_(IN_PROGRESS)).order_by(Campaign.launched_at)
    ).all()
    reports = lifecycle.reports_for(session, [c.id for c in campaigns])
    return [progress_from(c, reports[c.id].by_status if c.id in reports else {}) for c in campaigns]


def consent_movements(session: Session, now: datetime, days: int = 7) -> dict[str, dict[str, int]]:
    """Grants and withdrawals recorded in the last `days` days, by purpose name then action."""
    rows = session.execute(
        select(Purpose.name, ConsentEvent.action, func.count())
        .join(Purpose, Purpose.id == ConsentEvent.purpose_id)
        .where(ConsentEvent.occurred_at >= now - timedelta(days=days))
        .group_by(Purpose.name, ConsentEvent.action)
        .order_by(Purpose.name)
    ).all()
    result: dict[str, dict[str, int]] = {}
    for name, action, count in rows:
        result.setdefault(name, {})[action] = count
    return result


def delivery_outcomes(session: Session, now: datetime, days: int = 7) -> dict[tuple[str, str], int]:
    """Deliveries created in the last `days` days, by (status, reason)."""
    rows = session.execute(
        select(Delivery.status, Delivery.reason, func.count())
        .where(Delivery.created_at >= now - timedelta(days=days))
        .group_by(Delivery.status, Delivery.reason)
    ).all()
    return {(status, reason or ""): count for status, reason, count in sorted(rows, key=lambda r: -r[2])}


def overdue(session: Session, now: datetime, lease: timedelta) -> list[Overdue]:
    """Scheduled campaigns past their time, and sending ones holding claims older than the lease."""
    late = session.execute(
        select(Campaign.id, Campaign.name, Campaign.scheduled_at).where(
            Campaign.status == CampaignStatus.SCHEDULED, Campaign.scheduled_at < now - SCHEDULE_GRACE
        )
    ).all()
    stuck = session.execute(
        select(Campaign.id, Campaign.name, func.min(Delivery.claimed_at))
        .join(Delivery, Delivery.campaign_id == Campaign.id)
        .where(Delivery.status == DeliveryStatus.SENDING, Delivery.claimed_at < now - lease)
        .group_by(Campaign.id, Campaign.name)
    ).all()
    return [Overdue("schedule_missed", cid, name, at or now) for cid, name, at in late] + [
        Overdue("claims_expired", cid, name, at or now) for cid, name, at in stuck
    ]
