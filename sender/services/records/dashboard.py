"""What the dashboard shows: campaigns in progress, consent movements, delivery outcomes, overdue work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from sender.enums import CampaignKind, CampaignStatus, DeliveryStatus
from sender.models import (
    AuditEvent,
    Campaign,
    Delivery,
    Requalification,
)
from sender.services.campaigns import lifecycle, requalify_cycle, tallies

IN_PROGRESS = (CampaignStatus.SENDING, CampaignStatus.PAUSED)
# A scheduled campaign this late was missed by the scheduler (stopped worker, lost queue).
SCHEDULE_GRACE = timedelta(minutes=5)
# An open requalification cycle needs `sender requalify run` (every minute under `sender serve`, every few
# minutes from cron): none for this long means no cron is running, and its people are never asked.
CRON_GRACE = timedelta(minutes=15)


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
        select(Campaign)
        # A sequence step is "sending" while its sequence is active: its sequence's page shows it.
        .where(Campaign.status.in_(IN_PROGRESS), Campaign.kind != CampaignKind.SEQUENCE)
        .order_by(Campaign.launched_at)
    ).all()
    reports = lifecycle.reports_for(session, [c.id for c in campaigns])
    return [progress_from(c, reports[c.id].by_status if c.id in reports else {}) for c in campaigns]


def consent_movements(session: Session, now: datetime, days: int = 7) -> dict[str, dict[str, int]]:
    """Grants and withdrawals recorded in the last `days` days, by purpose name then action.

    Whole hours from the summary counts (consent_tallies); the window's first, partial hour from the events."""
    return tallies.consent_actions_since(session, now - timedelta(days=days))


def delivery_outcomes(session: Session, now: datetime, days: int = 7) -> dict[tuple[str, str], int]:
    """Deliveries of the campaigns launched in the last `days` days or still sending, by (status, reason).

    From the summary counts (tallies.py): a window over the delivery rows themselves reads every row of it."""
    recent = select(Campaign.id).where(
        or_(Campaign.launched_at >= now - timedelta(days=days), Campaign.status.in_(IN_PROGRESS))
    )
    return tallies.outcomes(session, recent)


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
    return (
        [Overdue("schedule_missed", cid, name, at or now) for cid, name, at in late]
        + [Overdue("claims_expired", cid, name, at or now) for cid, name, at in stuck]
        + cron_missed(session, now)
    )


def cron_missed(session: Session, now: datetime) -> list[Overdue]:
    """Open requalification cycles that no `sender requalify run` has served for CRON_GRACE."""
    last_run = session.scalar(
        select(func.max(AuditEvent.occurred_at)).where(AuditEvent.action == requalify_cycle.RUN_ACTION)
    )
    if last_run is not None and last_run >= now - CRON_GRACE:
        return []
    waiting = session.execute(
        select(Campaign.id, Campaign.name, Campaign.launched_at)
        .join(Requalification, Requalification.campaign_id == Campaign.id)
        .where(
            Campaign.kind == CampaignKind.REQUALIFICATION,
            Campaign.status.in_(requalify_cycle.ACTIVE),
            Requalification.closed_at.is_(None),
            Campaign.launched_at < now - CRON_GRACE,
        )
        .order_by(Campaign.id)
    ).all()
    # Waiting since the later of its start and the last run anyone saw.
    return [
        Overdue("cron_missed", cid, name, max(at or now, last_run or at or now)) for cid, name, at in waiting
    ]
