"""Campaign lifecycle: create (content checked at save time), preview, pause, cancel, progress reports.

Launching, scheduling and resuming are in launch.py (they enqueue work); every status change goes through
states.py."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from sender.db import rowcount, utcnow
from sender.enums import CampaignKind, DeliveryReason, DeliveryStatus, PurposeKind
from sender.i18n import N_
from sender.models import Campaign, ContactList, Delivery, DeliveryCount, DeliveryTally, Purpose
from sender.models.campaigns import NO_VARIANT
from sender.services.campaigns import ab_setup, audience_estimate, planning, requalify, states
from sender.services.campaigns.schema import CampaignDraft
from sender.services.composer import templates
from sender.services.errors import NotFound, ValidationFailed
from sender.services.records import audit


@dataclass(frozen=True)
class LaunchResult:
    """What planning produced (or would): queued count, and skipped counts by reason.

    An estimate (audience_estimate.py) says from how many sampled contacts, and each figure's 95 % margin
    ("" for the queued count)."""

    queued: int
    skipped: dict[str, int]
    sample: int = 0
    margins: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Report:
    """A campaign's progress: deliveries by status, skipped and deferred ones by reason, and an A/B test's
    deliveries by variant and status."""

    by_status: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    deferred: dict[str, int] = field(default_factory=dict)
    by_variant: dict[int, dict[str, int]] = field(default_factory=dict)


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
        errors["purpose"] = N_("no purpose %(slug)r", slug=draft.purpose)
    elif purpose.kind == PurposeKind.TRACKING:
        errors["purpose"] = N_("a tracking purpose measures messages; it cannot be what they are sent for")
    chosen = _lists(session, lists, errors)
    if draft.template_id is not None and not templates.known(session, draft.template_id):
        errors["template_id"] = N_("no such template")
    if errors:
        raise ValidationFailed(errors)
    assert purpose is not None
    campaign = Campaign(
        name=draft.name,
        purpose_id=purpose.id,
        channel=draft.channel,
        kind=draft.kind,
        locale=draft.locale,
        **draft.content(),
        # Stored as naive UTC, like every timestamp of the database.
        scheduled_at=scheduled_at.astimezone(UTC).replace(tzinfo=None) if scheduled_at else None,
        created_by=actor,
        lists=chosen,
    )
    ab_setup.store(campaign, draft)
    session.add(campaign)
    session.flush()
    audit.record(session, actor, "campaign.create", "campaign", campaign.id, {"purpose": purpose.slug})
    return campaign


def _lists(session: Session, ids: Sequence[int], errors: dict[str, str]) -> list[ContactList]:
    if not ids:
        errors["lists"] = N_("must be a non-empty array of list ids")
        return []
    wanted = sorted(set(ids))
    found = list(session.scalars(select(ContactList).where(ContactList.id.in_(wanted))))
    missing = sorted(set(wanted) - {lst.id for lst in found})
    if missing:
        errors["lists"] = N_("unknown list ids: %(missing)s", missing=missing[:20])
    return found


def get(session: Session, campaign_id: int) -> Campaign:
    """The campaign with this id, or NotFound."""
    campaign = session.get(Campaign, campaign_id)
    # A sequence step is sent, paused and shown through its sequence (services/sequences), never by hand.
    if campaign is None or campaign.kind == CampaignKind.SEQUENCE:
        raise NotFound(N_("no such campaign"))
    return campaign


def preview(
    session: Session, campaign: Campaign, at: datetime | None = None, estimate: bool = False
) -> LaunchResult:
    """What launching now would do, without writing anything; `estimate`: from a sample when large."""
    sample, margins = 0, {}
    if campaign.kind == CampaignKind.REQUALIFICATION:
        # A requalification cycle's audience is who is due, not lists: who the next run would ask.
        counts = requalify.preview(session, campaign, at or utcnow())
    elif estimate:
        counted = audience_estimate.preview(session, campaign, at or utcnow())
        counts, sample = dict(counted.counts), counted.sample
        margins = {"" if k is None else str(k): v for k, v in counted.margins.items()}
    else:
        counts = planning.preview(session, campaign, [lst.id for lst in campaign.lists], at or utcnow())
    queued = counts.pop(None, 0)
    return LaunchResult(queued, {str(k): v for k, v in sorted(counts.items())}, sample, margins)


def pause(session: Session, campaign: Campaign, actor: str) -> None:
    """Stop claiming new deliveries; messages already handed to the transport finish."""
    states.move(session, campaign, states.PAUSE)
    audit.record(session, actor, "campaign.paused", "campaign", campaign.id)


def cancel(session: Session, campaign: Campaign, actor: str) -> int:
    """Cancel the campaign and every delivery not yet claimed; return how many were cancelled."""
    states.move(session, campaign, states.CANCEL)
    audit.record(session, actor, "campaign.cancelled", "campaign", campaign.id)
    return rowcount(
        session.execute(
            update(Delivery)
            .where(
                Delivery.campaign_id == campaign.id,
                Delivery.status.in_((DeliveryStatus.QUEUED, DeliveryStatus.DEFERRED)),
            )
            .values(status=DeliveryStatus.CANCELLED, reason=DeliveryReason.CAMPAIGN_CANCELLED)
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
    """The reports of several campaigns, from the summary counts (never from the delivery rows)."""
    rows = session.execute(
        select(
            DeliveryTally.campaign_id,
            DeliveryTally.status,
            DeliveryTally.reason,
            DeliveryTally.variant,
            func.sum(DeliveryTally.delta),
        )
        .where(DeliveryTally.campaign_id.in_(campaign_ids))
        .group_by(
            DeliveryTally.campaign_id, DeliveryTally.status, DeliveryTally.reason, DeliveryTally.variant
        )
    ).all()
    # Deliveries compacted by age (compaction.py) count as their rows did.
    compacted = session.execute(
        select(
            DeliveryCount.campaign_id,
            DeliveryCount.status,
            DeliveryCount.reason,
            DeliveryCount.variant,
            DeliveryCount.count,
        ).where(DeliveryCount.campaign_id.in_(campaign_ids))
    ).all()
    reports = {cid: Report() for cid in campaign_ids}
    for campaign_id, status, reason, variant, count in [*rows, *compacted]:
        if not count:  # every row of this status has moved on
            continue
        report = reports[campaign_id]
        _add(report.by_status, status, count)
        if status == DeliveryStatus.SKIPPED and reason:
            _add(report.skipped, reason, count)
        if status == DeliveryStatus.DEFERRED and reason:
            _add(report.deferred, reason, count)
        if variant is not None and variant != NO_VARIANT:
            _add(report.by_variant.setdefault(variant, {}), status, count)
    return {
        cid: Report(
            dict(sorted(r.by_status.items())),
            dict(sorted(r.skipped.items())),
            dict(sorted(r.deferred.items())),
            {v: dict(sorted(counts.items())) for v, counts in sorted(r.by_variant.items())},
        )
        for cid, r in reports.items()
    }


def _add(counts: dict[str, int], key: str, n: int) -> None:
    counts[key] = counts.get(key, 0) + n
