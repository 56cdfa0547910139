"""Audience planning in SQL: one delivery row per audience member, queued or skipped with the gate's reason."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Integer, Select, case, func, insert, literal, or_, select
from sqlalchemy.orm import Session

from sender.channels.base import Channel, get_channel
from sender.enums import DeliveryReason, DeliveryStatus
from sender.models import Campaign, Contact, Delivery, ListMember
from sender.services.audience import segments
from sender.services.consent.gate import gated_audience, rule_for

SKIPPED_BATCH = -1
# An A/B test's stable split: a contact's bucket out of BUCKETS; each variant's share is test_percent * 100
# buckets. A multiplier prime to BUCKETS spreads consecutive contact ids over every bucket (a permutation of
# each run of 10,000 ids).
BUCKETS = 10_000
SPREAD = 5_761
SHIFT = 7_919


def audience(
    session: Session,
    campaign: Campaign,
    channel: Channel,
    list_ids: Sequence[int],
    at: datetime,
    among: Sequence[tuple[int, int]] | None = None,
) -> tuple[Select[int, str | None], ColumnElement[str | None]]:
    """Distinct members of the campaign's lists and segments with the gate's reason (NULL = eligible).

    `among`: only the contact ids in these ranges (first, last) (a sample), named in the members' subquery
    too so that it reads their rows by index rather than every member of the lists."""
    members = select(ListMember.contact_id).where(ListMember.list_id.in_(list_ids))
    stmt, reason = gated_audience(campaign.purpose_id, channel, at, rule_for(campaign.kind))
    if among is not None:
        members = members.where(or_(*(ListMember.contact_id.between(a, b) for a, b in among)))
        stmt = stmt.where(or_(*(Contact.id.between(a, b) for a, b in among)))
    segment_ids = segments.of_campaign(session, campaign.id)
    if segment_ids:
        # Segments are evaluated now, in the same statement: IN (...) OR IN (...) deduplicates.
        in_audience = or_(Contact.id.in_(members), Contact.id.in_(segments.members(session, segment_ids)))
        return stmt.where(in_audience), reason
    # IN (subquery) deduplicates contacts who are on several lists.
    return stmt.where(Contact.id.in_(members)), reason


def preview(
    session: Session,
    campaign: Campaign,
    list_ids: Sequence[int],
    at: datetime,
) -> dict[str | None, int]:
    """Count the audience by refusal reason (None = would be queued); writes nothing."""
    stmt, _ = audience(session, campaign, get_channel(campaign.channel), list_ids, at)
    planned = stmt.subquery()
    rows = session.execute(select(planned.c.reason, func.count()).group_by(planned.c.reason)).all()
    return {reason: count for reason, count in rows}


def reasons_among(
    session: Session,
    campaign: Campaign,
    list_ids: Sequence[int],
    at: datetime,
    among: Sequence[tuple[int, int]],
) -> list[tuple[int, str | None]]:
    """(contact id, refusal reason) of the audience members in these ranges of contact ids (a sample)."""
    stmt, _ = audience(session, campaign, get_channel(campaign.channel), list_ids, at, among)
    planned = stmt.subquery()
    return [(row[0], row[1]) for row in session.execute(select(planned.c.id, planned.c.reason))]


@dataclass(frozen=True)
class Chunk:
    """What one planning step inserted: the batches it filled, the last contact it reached, and its skips
    by (status, reason) as the outcome metrics count them."""

    batches: Sequence[int]
    next_batch: int
    last_contact_id: int | None
    skipped: dict[tuple[str, str | None], int]


def plan_chunk(
    session: Session,
    campaign: Campaign,
    list_ids: Sequence[int],
    at: datetime,
    batch_size: int,
    *,
    channel: Channel,
    after: int,
    limit: int,
    first_batch: int,
) -> Chunk:
    """Insert the delivery rows of the next `limit` audience members (by contact id) in one INSERT … SELECT.

    `channel` is the campaign's, resolved once by the caller for the whole launch."""
    split = _split(campaign)
    stmt, _ = audience(session, campaign, channel, list_ids, at)
    planned = stmt.where(Contact.id > after).order_by(Contact.id).limit(limit).subquery()
    eligible = planned.c.reason.is_(None)
    # Classes: -1 skipped by the gate; during an A/B test, 0..tested-1 each variant's share (by a stable hash
    # of the contact id; (id mod 10,000) * 5,761 stays far below 2^31 on every backend) and `tested` the rest,
    # held for the winner; otherwise 0.
    bucket = ((planned.c.id % BUCKETS) * SPREAD + split.shift) % BUCKETS
    cls: ColumnElement[int] = (
        case(
            (~eligible, -1), (bucket < split.tested * split.share, bucket // split.share), else_=split.tested
        )
        if split.tested
        else case((eligible, 0), else_=-1)
    )
    held = split.tested if split.tested else -2
    variant: ColumnElement[int | None] = (
        case((cls.between(0, split.tested - 1), cls), else_=None)
        if split.tested
        else literal(split.variant, Integer)
    )
    # Number each class's contacts 0..n-1 in contact order and cut them into batches of batch_size; the
    # classes' batches interleave (batch b holds class (b - first_batch) % classes), one class per batch.
    ordinal = func.row_number().over(partition_by=cls, order_by=planned.c.id) - 1
    rows = select(
        literal(campaign.id),
        planned.c.id,
        case((cls >= 0, first_batch + cls + split.classes * (ordinal // batch_size)), else_=SKIPPED_BATCH),
        case(
            (cls < 0, literal(DeliveryStatus.SKIPPED.value)),
            (cls == held, literal(DeliveryStatus.DEFERRED.value)),
            else_=literal(DeliveryStatus.QUEUED.value),
        ),
        case((cls == held, literal(DeliveryReason.AB_TEST.value)), else_=planned.c.reason),
        variant,
        literal(0),
        literal(at),
    )
    session.execute(
        insert(Delivery).from_select(
            [
                "campaign_id",
                "contact_id",
                "batch_no",
                "status",
                "reason",
                "variant",
                "attempts",
                "created_at",
            ],
            rows,
        )
    )
    # One grouped read of what the step inserted (nothing else is past `after` yet, and no worker sees the
    # rows before the step commits): where it ended, and its skips by reason for the outcome metrics.
    inserted = session.execute(
        select(
            Delivery.status,
            Delivery.reason,
            func.count(),
            func.max(Delivery.contact_id),
            func.max(Delivery.batch_no),
        )
        .where(Delivery.campaign_id == campaign.id, Delivery.contact_id > after)
        .group_by(Delivery.status, Delivery.reason)
    ).all()
    last_contact = max((row[3] for row in inserted), default=None)
    last_batch = max((row[4] for row in inserted), default=None)
    skipped: dict[tuple[str, str | None], int] = {
        (DeliveryStatus.SKIPPED, reason): count
        for status, reason, count, _, _ in inserted
        if status == DeliveryStatus.SKIPPED
    }
    end = first_batch if last_batch is None or last_batch < first_batch else last_batch + 1
    batches: Sequence[int] = range(first_batch, end)
    if split.classes > 1:
        # Only the batches with queued rows are sent now (those waiting for the winner wait, and a variant
        # with fewer people than another leaves some of its batch numbers unused).
        batches = list(
            session.scalars(
                select(Delivery.batch_no)
                .where(
                    Delivery.campaign_id == campaign.id,
                    Delivery.contact_id > after,
                    Delivery.status == DeliveryStatus.QUEUED,
                )
                .distinct()
                .order_by(Delivery.batch_no)
            )
        )
    return Chunk(batches, end, last_contact, skipped)


@dataclass(frozen=True)
class Split:
    """How a chunk's eligible rows are classed: `tested` contents (variants) get `share` buckets each and the
    rest (class `tested`) waits for the winner; without an undecided test, one class rendering `variant`."""

    tested: int
    share: int
    shift: int
    variant: int | None

    @property
    def classes(self) -> int:
        """The classes that get batches: the variants and the rest, or the one class of a plain campaign."""
        return self.tested + 1 if self.tested else 1


def _split(campaign: Campaign) -> Split:
    """The campaign's split: each variant's test share and the rest held, during an undecided A/B test."""
    test = campaign.ab_test
    if test is None or test.winner is not None:
        return Split(0, 0, 0, test.winner if test is not None else None)
    # The campaign's id shifts the split, so that two tests do not pick the same people.
    return Split(
        len(test.variants) + 1, test.test_percent * BUCKETS // 100, (campaign.id * SHIFT) % BUCKETS, None
    )


def resume_point(session: Session, campaign_id: int) -> tuple[int, int]:
    """Where interrupted planning goes on: after the last planned contact, at the next batch number."""
    last_contact, last_batch = session.execute(
        select(func.max(Delivery.contact_id), func.max(Delivery.batch_no)).where(
            Delivery.campaign_id == campaign_id
        )
    ).one()
    return last_contact or 0, (last_batch + 1) if last_batch is not None and last_batch >= 0 else 0
