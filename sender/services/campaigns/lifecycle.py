"""Campaign lifecycle: create (content checked when parsed, services/campaigns/schema.py), preview, launch,
pause, resume, cancel."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from sender.config import Settings
from sender.db import rowcount, utcnow
from sender.enums import CampaignStatus, DeliveryStatus
from sender.models import Campaign, ContactList, Delivery, Purpose
from sender.services.campaigns import planning, requalify
from sender.services.campaigns.schema import CampaignDraft
from sender.services.errors import Conflict, NotFound, ValidationFailed
from sender.services.messages import rendering
from sender.services.records import audit

LAUNCHABLE = (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED)


@dataclass(frozen=True)
class LaunchResult:
    """What planning produced: queued count, skipped counts by reason, and batches to enqueue."""

    queued: int
    skipped: dict[str, int]
    batches: int


@dataclass(frozen=True)
class Report:
    """A campaign's progress: deliveries by status and skipped ones by reason."""

    by_status: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)


def create(
    session: Session,
    draft: CampaignDraft,
    lists: Sequence[int],
    actor: str,
    scheduled_at: datetime | None = None,
) -> Campaign:
    """Create a draft campaign from checked content (CampaignDraft.parse) for these lists.

    The draft's templates were checked when it was parsed, before the session was used: a render may take up
    to its time limit, and no transaction (on SQLite, the write lock) may be held meanwhile.
    """
    errors: dict[str, str] = {}
    purpose = session.scalar(select(Purpose).where(Purpose.slug == draft.purpose))
    if purpose is None:
        errors["purpose"] = f"no purpose {draft.purpose!r}"
    chosen = _lists(session, lists, errors)
    if errors:
        raise ValidationFailed(errors)
    assert purpose is not None
    campaign = Campaign(
        name=draft.name,
        purpose_id=purpose.id,
        channel=draft.channel,
        kind=draft.kind,
        locale=draft.locale,
        subject=draft.subject,
        body_html=draft.body_html,
        body_text=draft.body_text,
        # Stored as naive UTC, like every timestamp of the database.
        scheduled_at=scheduled_at.astimezone(UTC).replace(tzinfo=None) if scheduled_at else None,
        created_by=actor,
        lists=chosen,
    )
    session.add(campaign)
    session.flush()
    audit.record(session, actor, "campaign.create", "campaign", campaign.id, {"purpose": purpose.slug})
    return campaign


def _lists(session: Session, ids: Sequence[int], errors: dict[str, str]) -> list[ContactList]:
    if not ids:
        errors["lists"] = "must be a non-empty array of list ids"
        return []
    wanted = sorted(set(ids))
    found = list(session.scalars(select(ContactList).where(ContactList.id.in_(wanted))))
    missing = sorted(set(wanted) - {lst.id for lst in found})
    if missing:
        errors["lists"] = f"unknown list ids: {missing[:20]}"
    return found


def get(session: Session, campaign_id: int) -> Campaign:
    """The campaign with this id, or NotFound."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound("no such campaign")
    return campaign


def preview(session: Session, campaign: Campaign, at: datetime | None = None) -> LaunchResult:
    """What launching now would do, without writing anything."""
    if campaign.kind == requalify.KIND:
        # A requalification cycle's audience is who is due, not lists: who the next run would ask.
        counts = requalify.preview(session, campaign, at or utcnow())
    else:
        counts = planning.preview(session, campaign, [lst.id for lst in campaign.lists], at or utcnow())
    queued = counts.pop(None, 0)
    return LaunchResult(queued, {str(k): v for k, v in sorted(counts.items())}, 0)


def begin_launch(session: Session, settings: Settings, campaign: Campaign, actor: str) -> None:
    """Mark a draft or scheduled campaign sending; planning follows. The caller commits."""
    rendering.check_sender_identity(settings, campaign.channel)
    claimed = rowcount(
        session.execute(
            update(Campaign)
            .where(Campaign.id == campaign.id, Campaign.status.in_(LAUNCHABLE))
            .values(status=CampaignStatus.SENDING, launched_at=utcnow())
        )
    )
    session.refresh(campaign)
    if claimed != 1:
        # Another request launched it first, or it is not in a launchable state.
        raise Conflict(f"campaign is {campaign.status}; only draft or scheduled campaigns can be sent")


def finish_planning(session: Session, campaign: Campaign, actor: str) -> LaunchResult:
    """Record that every audience member has its delivery; the caller commits."""
    report = report_for(session, campaign.id)
    # Workers start on the first chunks while later ones are planned: count every planned send.
    planned = sum(count for status, count in report.by_status.items() if status != DeliveryStatus.SKIPPED)
    campaign.planned_at = utcnow()
    if campaign.status == CampaignStatus.SENDING and not planned:
        campaign.status, campaign.finished_at = CampaignStatus.SENT, utcnow()
    audit.record(
        session,
        actor,
        "campaign.launch",
        "campaign",
        campaign.id,
        {"queued": planned, "skipped": report.skipped},
    )
    return LaunchResult(planned, report.skipped, 0)


def wants_schedule(campaign: Campaign, now: bool, at: datetime) -> bool:
    """Whether a send call schedules the campaign (True) or launches it now (False).

    A campaign already scheduled is launched early only when the caller says so: a retried send call must
    not turn next week's campaign into one sent at once.
    """
    if campaign.status == CampaignStatus.SCHEDULED and not now:
        when = campaign.scheduled_at.isoformat() if campaign.scheduled_at else "later"
        raise Conflict(f'campaign is scheduled for {when}Z; send {{"now": true}} to launch it now')
    return (
        not now
        and campaign.status == CampaignStatus.DRAFT
        and bool(campaign.scheduled_at and campaign.scheduled_at > at)
    )


def schedule(session: Session, campaign: Campaign, when: datetime, actor: str) -> None:
    """Mark a draft campaign scheduled for `when` (UTC); the caller enqueues the launch job."""
    if campaign.status != CampaignStatus.DRAFT:
        raise Conflict(f"campaign is {campaign.status}; only a draft can be scheduled")
    campaign.status, campaign.scheduled_at = CampaignStatus.SCHEDULED, when
    audit.record(session, actor, "campaign.schedule", "campaign", campaign.id, {"at": when.isoformat()})


def _transition(
    session: Session, campaign: Campaign, allowed: tuple[str, ...], target: str, actor: str
) -> None:
    done = rowcount(
        session.execute(
            update(Campaign)
            .where(Campaign.id == campaign.id, Campaign.status.in_(allowed))
            .values(status=target)
        )
    )
    session.refresh(campaign)
    if done != 1:
        raise Conflict(f"campaign is {campaign.status}; cannot go to {target}")
    audit.record(session, actor, f"campaign.{target}", "campaign", campaign.id)


def pause(session: Session, campaign: Campaign, actor: str) -> None:
    """Stop claiming new deliveries; messages already handed to the transport finish."""
    _transition(session, campaign, (CampaignStatus.SENDING,), CampaignStatus.PAUSED, actor)


def resume(session: Session, campaign: Campaign, actor: str) -> list[int]:
    """Resume a paused campaign; return the batches that still hold queued deliveries."""
    _transition(session, campaign, (CampaignStatus.PAUSED,), CampaignStatus.SENDING, actor)
    return pending_batches(session, campaign.id)


def cancel(session: Session, campaign: Campaign, actor: str) -> int:
    """Cancel the campaign and every delivery not yet claimed; return how many were cancelled."""
    _transition(
        session,
        campaign,
        (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED, CampaignStatus.SENDING, CampaignStatus.PAUSED),
        CampaignStatus.CANCELLED,
        actor,
    )
    return rowcount(
        session.execute(
            update(Delivery)
            .where(
                Delivery.campaign_id == campaign.id,
                Delivery.status.in_((DeliveryStatus.QUEUED, DeliveryStatus.DEFERRED)),
            )
            .values(status=DeliveryStatus.CANCELLED, reason="campaign_cancelled")
        )
    )


def pending_batches(session: Session, campaign_id: int) -> list[int]:
    """Batch numbers that still have queued deliveries."""
    return list(
        session.scalars(
            select(Delivery.batch_no)
            .where(Delivery.campaign_id == campaign_id, Delivery.status == DeliveryStatus.QUEUED)
            .distinct()
            .order_by(Delivery.batch_no)
        )
    )


def report_for(session: Session, campaign_id: int) -> Report:
    """Counts of deliveries by status, and of skipped ones by reason."""
    return reports_for(session, [campaign_id])[campaign_id]


def reports_for(session: Session, campaign_ids: Sequence[int]) -> dict[int, Report]:
    """The reports of several campaigns, from one grouped query."""
    rows = session.execute(
        select(Delivery.campaign_id, Delivery.status, Delivery.reason, func.count())
        .where(Delivery.campaign_id.in_(campaign_ids))
        .group_by(Delivery.campaign_id, Delivery.status, Delivery.reason)
    ).all()
    reports = {cid: Report() for cid in campaign_ids}
    for campaign_id, status, reason, count in rows:
        report = reports[campaign_id]
        report.by_status[status] = report.by_status.get(status, 0) + count
        if status == DeliveryStatus.SKIPPED and reason:
            report.skipped[reason] = report.skipped.get(reason, 0) + count
    return {
        cid: Report(dict(sorted(r.by_status.items())), dict(sorted(r.skipped.items())))
        for cid, r in reports.items()
    }
