"""Engagement events kept TRACKING_RETENTION_DAYS, then folded into daily counts; erased people's anonymised.

A retention run folds whole days only (the cutoff is a midnight), one day per commit: the day's events are
counted (per link, and per campaign and variant for the uniques of a campaign) and deleted in the same
transaction, so a run cut short or run twice folds each event exactly once, and a day's unique visitors
stay exact (the visitor key's salt is a day's).

It also rolls up every whole day that has ended since the last run (`rollup`): the day's events are counted
into engagement_rollups and kept, so a report reads a few rows per past day and the raw events of the days
after its campaign's last rollup only. Nothing changes a past day's events but erasure (which keeps them
counted) and the fold (which deletes that day's rollup rows with them), so the counts stay exact.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import delete, false, func, insert, literal, null, select, true, update
from sqlalchemy.orm import Session

from sender.db import rowcount
from sender.enums import EngagementKind
from sender.models import (
    Campaign,
    CampaignLink,
    Delivery,
    EngagementDaily,
    EngagementEvent,
    EngagementRollup,
)

# A day is rolled up once it has been over this long: a burst's reclassification (a few seconds back) and a
# request that began before midnight have both landed by then.
ROLLUP_DELAY = timedelta(hours=1)


def anonymise(session: Session, contact_id: int) -> int:
    """Erasure: the person's events keep counting, naming no delivery any more; how many were named."""
    deliveries = select(Delivery.id).where(Delivery.contact_id == contact_id).scalar_subquery()
    return rowcount(
        session.execute(
            update(EngagementEvent)
            .where(EngagementEvent.delivery_id.in_(deliveries))
            .values(delivery_id=None)
            .execution_options(synchronize_session=False)
        )
    )


def _fold_day(session: Session, start: datetime, end: datetime) -> int:
    """Count one day's events into engagement_daily and delete them; how many were folded."""
    window = (EngagementEvent.occurred_at >= start, EngagementEvent.occurred_at < end)
    total = func.count()
    visitors = func.count(EngagementEvent.visitor_key.distinct())
    columns = (
        EngagementEvent.campaign_id,
        EngagementEvent.variant,
        EngagementEvent.kind,
        EngagementEvent.classification,
    )
    # Per link (clicks), and with no link: opens, and clicks of a campaign's variant as a whole.
    per_link = session.execute(
        select(*columns, EngagementEvent.link_id, total, visitors)
        .where(*window)
        .group_by(*columns, EngagementEvent.link_id)
    ).all()
    whole = session.execute(
        select(*columns, total, visitors)
        .where(*window, EngagementEvent.kind == EngagementKind.CLICK)
        .group_by(*columns)
    ).all()
    day = start.date()
    # Per link, then the campaign's (and variant's) totals, whose row names no link.
    totals = [(c, var, k, cl, None, n, v) for c, var, k, cl, n, v in whole]
    for campaign_id, variant, kind, classification, link_id, n, v in [*per_link, *totals]:
        session.add(
            EngagementDaily(
                campaign_id=campaign_id,
                variant=variant,
                link_id=link_id,
                day=day,
                kind=kind,
                classification=classification,
                count=n,
                visitors=v,
            )
        )
    # The day's rollup rows counted the same events: the folded counts replace them.
    session.execute(delete(EngagementRollup).where(EngagementRollup.day == day))
    return rowcount(session.execute(delete(EngagementEvent).where(*window)))


def _rollup_day(session: Session, start: datetime, end: datetime) -> int:
    """Count one whole day's events into engagement_rollups (per link, per variant, per campaign); how many."""
    window = (EngagementEvent.occurred_at >= start, EngagementEvent.occurred_at < end)
    day = literal(start.date())
    total = func.count()
    visitors = func.count(EngagementEvent.visitor_key.distinct())
    kind, classification = EngagementEvent.kind, EngagementEvent.classification
    target = (
        "campaign_id", "variant", "link_id", "all_variants", "day", "kind", "classification", "count", "visitors",
    )  # fmt: skip
    # A link belongs to one variant: its rows are the link's, whatever the events say of their variant.
    per_link = (
        select(
            EngagementEvent.campaign_id,
            func.min(EngagementEvent.variant),
            EngagementEvent.link_id,
            false(),
            day,
            kind,
            classification,
            total,
            visitors,
        )
        .where(*window, EngagementEvent.link_id.is_not(None))
        .group_by(EngagementEvent.campaign_id, EngagementEvent.link_id, kind, classification)
    )
    per_variant = (
        select(
            EngagementEvent.campaign_id,
            EngagementEvent.variant,
            null(),
            false(),
            day,
            kind,
            classification,
            total,
            visitors,
        )
        .where(*window)
        .group_by(EngagementEvent.campaign_id, EngagementEvent.variant, kind, classification)
    )
    whole = (
        select(
            EngagementEvent.campaign_id, null(), null(), true(), day, kind, classification, total, visitors
        )
        .where(*window)
        .group_by(EngagementEvent.campaign_id, kind, classification)
    )
    for rows in (per_link, per_variant, whole):
        session.execute(insert(EngagementRollup).from_select(target, rows))
    return int(session.scalar(select(func.count()).where(*window)) or 0)


def rollup(session: Session, at: datetime, commit: Callable[[], bool]) -> int:
    """Roll up every whole day of events ended ROLLUP_DELAY before `at` and not rolled up yet, one commit per
    day, oldest first; `commit` says whether to go on. How many events were counted."""
    cutoff = datetime.combine((at - ROLLUP_DELAY).date(), time())
    last = session.scalar(select(func.max(EngagementRollup.day)))
    # Days are rolled up in order for every campaign at once: the last day rolled up is where to go on.
    since = datetime.combine(last + timedelta(days=1), time()) if last is not None else None
    counted = 0
    while True:
        window = [EngagementEvent.occurred_at < cutoff]
        if since is not None:
            window.append(EngagementEvent.occurred_at >= since)
        oldest = session.scalar(select(func.min(EngagementEvent.occurred_at)).where(*window))
        if oldest is None:
            return counted
        start = datetime.combine(oldest.date(), time())
        since = start + timedelta(days=1)
        counted += _rollup_day(session, start, since)
        if not commit():
            return counted


def fold(session: Session, days: int, at: datetime, commit: Callable[[], bool]) -> int:
    """Fold every whole day of events older than `days`, one commit per day; `commit` says whether to go on."""
    cutoff = datetime.combine((at - timedelta(days=days)).date(), time())
    folded = 0
    while True:
        oldest = session.scalar(
            select(func.min(EngagementEvent.occurred_at)).where(EngagementEvent.occurred_at < cutoff)
        )
        if oldest is None:
            return folded
        start = datetime.combine(oldest.date(), time())
        folded += _fold_day(session, start, min(start + timedelta(days=1), cutoff))
        if not commit():
            return folded


def own_events(session: Session, contact_id: int) -> list[dict[str, Any]]:
    """The person's own tracking events (Art. 15, Art. 20): those that name one of their deliveries."""
    rows = session.execute(
        select(
            Campaign.name,
            EngagementEvent.kind,
            EngagementEvent.classification,
            EngagementEvent.occurred_at,
            CampaignLink.url,
        )
        .join(Delivery, Delivery.id == EngagementEvent.delivery_id)
        .join(Campaign, Campaign.id == EngagementEvent.campaign_id)
        .outerjoin(CampaignLink, CampaignLink.id == EngagementEvent.link_id)
        .where(Delivery.contact_id == contact_id)
        .order_by(EngagementEvent.occurred_at, EngagementEvent.id)
    )
    return [
        {
            "campaign": name,
            "kind": kind,
            "classification": classification,
            "occurred_at": at.isoformat(timespec="seconds") + "Z",
            "link": url,
        }
        for name, kind, classification, at, url in rows
    ]
