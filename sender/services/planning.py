"""Audience planning in SQL: one delivery row per audience member, queued or skipped with the gate's reason."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Select, case, func, insert, literal, select
from sqlalchemy.orm import Session

from sender.models import Campaign, Contact, Delivery, ListMember
from sender.services.gate import gated_audience

SKIPPED_BATCH = -1


def audience(
    campaign: Campaign, list_ids: Sequence[int], at: datetime
) -> tuple[Select[int, str | None], ColumnElement[str | None]]:
    """Distinct members of the campaign's lists with the gate's reason (NULL = eligible)."""
    members = select(ListMember.contact_id).where(ListMember.list_id.in_(list_ids))
    stmt, reason = gated_audience(campaign.purpose_id, campaign.channel, at)
    # IN (subquery) deduplicates contacts who are on several lists.
    return stmt.where(Contact.id.in_(members)), reason


def preview(
    session: Session, campaign: Campaign, list_ids: Sequence[int], at: datetime
) -> dict[str | None, int]:
    """Count the audience by refusal reason (None = would be queued); writes nothing."""
    stmt, _ = audience(campaign, list_ids, at)
    planned = stmt.subquery()
    rows = session.execute(select(planned.c.reason, func.count()).group_by(planned.c.reason)).all()
    return {reason: count for reason, count in rows}


def plan(session: Session, campaign: Campaign, list_ids: Sequence[int], at: datetime, batch_size: int) -> int:
    """Insert every delivery row in one INSERT … SELECT; return the number of batches to enqueue."""
    stmt, _ = audience(campaign, list_ids, at)
    planned = stmt.subquery()
    eligible = planned.c.reason.is_(None)
    # Number eligible contacts 0..n-1 in contact order and cut them into batches of batch_size.
    ordinal = func.row_number().over(partition_by=case((eligible, 1), else_=0), order_by=planned.c.id) - 1
    rows = select(
        literal(campaign.id),
        planned.c.id,
        case((eligible, ordinal // batch_size), else_=SKIPPED_BATCH),
        case((eligible, literal("queued")), else_=literal("skipped")),
        planned.c.reason,
        literal(0),
        literal(at),
    )
    session.execute(
        insert(Delivery).from_select(
            ["campaign_id", "contact_id", "batch_no", "status", "reason", "attempts", "created_at"], rows
        )
    )
    last = session.scalar(select(func.max(Delivery.batch_no)).where(Delivery.campaign_id == campaign.id))
    return 0 if last is None or last < 0 else last + 1
