"""Deliveries a channel may not send yet (SMS quiet hours): deferred to their slot, never dropped (R14).

After the claim, the channel's `hold_until(settings, campaign, contact, at)` says for each claimed contact
whether the message may go now or from when (email: always now). Held deliveries become `deferred` (reason
`quiet_hours`, `not_before` = the slot), the attempt is given back, and the claim is released; at the slot
a job scheduled in the same step (and, as a safety net, every sweep) puts them back in the queue, where the
next claim re-checks consent as for any other delivery.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import DateTime, Table, bindparam, func, select, update
from sqlalchemy.orm import Session

from sender import work
from sender.channels.base import Channel
from sender.config import Settings
from sender.db import utcnow
from sender.enums import CampaignStatus, DeliveryReason, DeliveryStatus
from sender.models import Campaign, Contact, Delivery
from sender.work.jobs import ReleaseDeferred

REASON = DeliveryReason.QUIET_HOURS


def hold(
    session: Session,
    settings: Settings,
    channel: Channel,
    campaign: Campaign,
    token: str,
    claimed: Sequence[tuple[int, Contact]],
) -> dict[int, datetime]:
    """Defer the claimed deliveries the channel holds back, with a release job at each slot; return
    {delivery id: slot}. The caller commits (the jobs leave after it)."""
    if not claimed:
        return {}
    now = utcnow()
    held: dict[int, datetime] = {}
    for delivery_id, contact in claimed:
        until = channel.hold_until(settings, campaign, contact, now)
        if until is not None:
            held[delivery_id] = until
    if held:
        table = cast(Table, Delivery.__table__)
        # Core, not ORM: an executemany of the ORM would be a bulk update by primary key.
        session.execute(
            update(table)
            .where(table.c.id == bindparam("d_id"), table.c.claim_token == token)
            .values(
                status=DeliveryStatus.DEFERRED,
                reason=REASON,
                not_before=bindparam("d_until", type_=DateTime),
                # Waiting for a window is not a try: the claim's attempt is given back.
                attempts=table.c.attempts - 1,
                claim_token=None,
            ),
            [{"d_id": d, "d_until": until} for d, until in held.items()],
        )
        for slot in sorted(set(held.values())):
            work.schedule_at(session, ReleaseDeferred(campaign.id, campaign.channel, slot), slot)
    return held


def release_due(session: Session, campaign_id: int | None = None, at: datetime | None = None) -> set[int]:
    """Put deferred deliveries whose slot has come back in the queue (sending campaigns); return their
    campaigns. The caller commits, then enqueues the campaigns' pending batches."""
    sending = select(Campaign.id).where(Campaign.status == CampaignStatus.SENDING)
    if campaign_id is not None:
        sending = sending.where(Campaign.id == campaign_id)
    rows = session.execute(
        update(Delivery)
        .where(
            Delivery.status == DeliveryStatus.DEFERRED,
            Delivery.not_before <= (at or utcnow()),
            Delivery.campaign_id.in_(sending),
        )
        .values(status=DeliveryStatus.QUEUED, reason=None)
        .returning(Delivery.campaign_id)
        .execution_options(synchronize_session=False)
    ).all()
    return {row.campaign_id for row in rows}


def slots(session: Session, campaign_id: int) -> list[tuple[datetime, int]]:
    """A campaign's deferred deliveries counted by the slot they wait for (naive UTC), earliest first."""
    rows = session.execute(
        select(Delivery.not_before, func.count())
        .where(Delivery.campaign_id == campaign_id, Delivery.status == DeliveryStatus.DEFERRED)
        .group_by(Delivery.not_before)
        .order_by(Delivery.not_before)
    ).all()
    return [(row[0], row[1]) for row in rows if row[0] is not None]
