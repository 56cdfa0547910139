"""Counts without reading the rows: the sums of delivery_tallies and consent_tallies, their fold, and their recount.

The database's triggers on `deliveries` (migrations 0028 and 0036) append a tally for every statement that
inserts, moves (status, reason, A/B variant, sent_at) or deletes delivery rows, in that statement's
transaction: every writer of a delivery's status (planning, the worker's claims and outcomes, the sweep,
deferral, cancellation, an A/B decision, bounces, erasure, compaction) is counted without calling anything,
and none can forget to. A campaign's live rows are the sum of its tallies; what compaction deleted is in
delivery_counts (compaction.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, func, insert, select
from sqlalchemy.orm import Session

from sender.models import Campaign, ConsentEvent, ConsentTally, Delivery, DeliveryTally, Purpose

# A tally's key: campaign, status, reason ("" for none), A/B variant and hour sent (None: none).
Key = tuple[int, str, str, int | None, datetime | None]
HOUR = timedelta(hours=1)


def hour_of(moment: datetime) -> datetime:
    """The start of the hour a moment falls in (the tallies' bucket)."""
    return moment.replace(minute=0, second=0, microsecond=0)


def next_hour(moment: datetime) -> datetime:
    """The first whole hour at or after a moment: a window's tallies start there, its rows before."""
    start = hour_of(moment)
    return start if start == moment else start + HOUR


def truncate(session: Session, column: Any, unit: str) -> ColumnElement[Any]:
    """The start of the hour or day (UTC) of a timestamp column, the same on both backends."""
    if session.get_bind().dialect.name == "postgresql":
        return func.date_trunc(unit, column)
    return func.strftime("%Y-%m-%d %H:00:00" if unit == "hour" else "%Y-%m-%d 00:00:00", column)


def moment(value: Any) -> datetime:
    """A moment read back from SQL: SQLite answers text where PostgreSQL answers a timestamp."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def sent_span(session: Session, campaign_id: int) -> tuple[datetime, datetime] | None:
    """The first and last hours a campaign's delivery rows were sent in (None: none sent)."""
    hours = (
        select(DeliveryTally.sent_hour)
        .where(DeliveryTally.campaign_id == campaign_id, DeliveryTally.sent_hour.is_not(None))
        .group_by(DeliveryTally.sent_hour)
        # Hours whose rows all moved out or were deleted sum to 0: no row was sent then.
        .having(func.sum(DeliveryTally.delta) != 0)
        .subquery()
    )
    first, last = session.execute(select(func.min(hours.c.sent_hour), func.max(hours.c.sent_hour))).one()
    return None if first is None else (moment(first), moment(last))


def sent_by(session: Session, unit: str, *where: ColumnElement[bool]) -> dict[datetime, int]:
    """Delivery rows with sent_at set per hour or day (UTC) sent, of the tallies `where` selects (none at 0)."""
    at = DeliveryTally.sent_hour if unit == "hour" else truncate(session, DeliveryTally.sent_hour, unit)
    total = func.sum(DeliveryTally.delta)
    rows = session.execute(
        select(at, total).where(DeliveryTally.sent_hour.is_not(None), *where).group_by(at).having(total != 0)
    ).all()
    return {moment(when): int(n) for when, n in rows}


def consents_by(
    session: Session, since: datetime, actions: Sequence[str], unit: str = "day"
) -> list[tuple[str, str, datetime, int]]:
    """Consent events per purpose name, action and hour or day (UTC) from the whole hour `since` (none at 0)."""
    at = ConsentTally.hour if unit == "hour" else truncate(session, ConsentTally.hour, unit)
    total = func.sum(ConsentTally.delta)
    rows = session.execute(
        select(Purpose.name, ConsentTally.action, at, total)
        .join(Purpose, Purpose.id == ConsentTally.purpose_id)
        .where(ConsentTally.hour >= since, ConsentTally.action.in_(actions))
        .group_by(Purpose.name, ConsentTally.action, at)
        .having(total != 0)
    ).all()
    return [(name, action, moment(when), int(n)) for name, action, when, n in rows]


def sent_counts(session: Session, campaign_ids: Sequence[int]) -> dict[int, int]:
    """Each campaign's delivery rows with `sent_at` set (sent, or sent then bounced)."""
    rows = session.execute(
        select(DeliveryTally.campaign_id, func.sum(DeliveryTally.delta))
        .where(DeliveryTally.campaign_id.in_(campaign_ids), DeliveryTally.sent_hour.is_not(None))
        .group_by(DeliveryTally.campaign_id)
    ).all()
    return {cid: int(n) for cid, n in rows}


def consent_actions_since(session: Session, since: datetime) -> dict[str, dict[str, int]]:
    """Consent events at or after `since`, by purpose name then action (none at 0).

    Whole hours from the tallies; the first, partial hour from the events."""
    start = next_hour(since)
    whole = session.execute(
        select(Purpose.name, ConsentTally.action, func.sum(ConsentTally.delta))
        .join(Purpose, Purpose.id == ConsentTally.purpose_id)
        .where(ConsentTally.hour >= start)
        .group_by(Purpose.name, ConsentTally.action)
    ).all()
    edge = session.execute(
        select(Purpose.name, ConsentEvent.action, func.count())
        .join(Purpose, Purpose.id == ConsentEvent.purpose_id)
        .where(ConsentEvent.occurred_at >= since, ConsentEvent.occurred_at < start)
        .group_by(Purpose.name, ConsentEvent.action)
    ).all()
    result: dict[str, dict[str, int]] = {}
    for name, action, count in [*whole, *edge]:
        if count:
            actions = result.setdefault(name, {})
            actions[action] = actions.get(action, 0) + int(count)
    return dict(sorted(result.items()))


def outcomes(session: Session, campaign_ids: Select[Any]) -> dict[tuple[str, str], int]:
    """The live delivery rows of the campaigns `campaign_ids` selects, by (status, reason), most first."""
    rows = session.execute(
        select(DeliveryTally.status, DeliveryTally.reason, func.sum(DeliveryTally.delta))
        .where(DeliveryTally.campaign_id.in_(campaign_ids))
        .group_by(DeliveryTally.status, DeliveryTally.reason)
    ).all()
    return {
        (status, reason): int(count) for status, reason, count in sorted(rows, key=lambda r: -r[2]) if count
    }


def sent_since(session: Session, since: datetime, *where: ColumnElement[bool]) -> int:
    """Delivery rows with sent_at at or after `since`, of the campaigns `where` selects (on Campaign).

    Whole hours from the tallies; the first, partial hour from the rows (a range of ix_deliveries_sent_at)."""
    start = next_hour(since)
    whole = session.scalar(
        select(func.sum(DeliveryTally.delta))
        .join(Campaign, Campaign.id == DeliveryTally.campaign_id)
        .where(DeliveryTally.sent_hour >= start, *where)
    )
    edge = session.scalar(
        select(func.count())
        .select_from(Delivery)
        .join(Campaign, Campaign.id == Delivery.campaign_id)
        .where(Delivery.sent_at >= since, Delivery.sent_at < start, *where)
    )
    return int(whole or 0) + int(edge or 0)


def live(session: Session) -> Counter[Key]:
    """Every key's live rows according to the tallies (keys summing to zero left out)."""
    rows = session.execute(
        select(
            DeliveryTally.campaign_id,
            DeliveryTally.status,
            DeliveryTally.reason,
            DeliveryTally.variant,
            DeliveryTally.sent_hour,
            func.sum(DeliveryTally.delta),
        ).group_by(
            DeliveryTally.campaign_id,
            DeliveryTally.status,
            DeliveryTally.reason,
            DeliveryTally.variant,
            DeliveryTally.sent_hour,
        )
    ).all()
    return Counter({(c, s, r, v, t): int(n) for c, s, r, v, t, n in rows if n})


def recount(session: Session) -> Counter[Key]:
    """Every key's live rows counted from the rows themselves: what `live` must equal (for checks and tests)."""
    reason = func.coalesce(Delivery.reason, "")
    rows = session.execute(
        select(
            Delivery.campaign_id, Delivery.status, reason, Delivery.variant, Delivery.sent_at, func.count()
        ).group_by(Delivery.campaign_id, Delivery.status, reason, Delivery.variant, Delivery.sent_at)
    ).all()
    counted: Counter[Key] = Counter()
    for c, s, r, v, at, n in rows:
        counted[(c, s, r, v, hour_of(at) if at is not None else None)] += n
    return counted


def _order(variant: int | None) -> int:
    # Rows without a variant first: None does not compare with a number.
    return -1 if variant is None else variant


def fold(session: Session) -> int:
    """Replace the tallies there now by one per key (their sum); return how many tallies were folded.

    One transaction: readers see the tallies before or after, with the same sums. Tallies appended meanwhile
    by other transactions have higher ids and are left alone."""
    last = session.scalar(select(func.max(DeliveryTally.id)))
    if last is None:
        return 0
    folded = session.execute(
        delete(DeliveryTally)
        .where(DeliveryTally.id <= last)
        .returning(
            DeliveryTally.campaign_id,
            DeliveryTally.status,
            DeliveryTally.reason,
            DeliveryTally.variant,
            DeliveryTally.sent_hour,
            DeliveryTally.delta,
        )
        .execution_options(synchronize_session=False)
    ).all()
    sums: Counter[Key] = Counter()
    for c, s, r, v, t, n in folded:
        sums[(c, s, r, v, t)] += n
    rows = [
        {"campaign_id": c, "status": s, "reason": r, "variant": v, "sent_hour": t, "delta": n}
        for (c, s, r, v, t), n in sorted(
            sums.items(), key=lambda item: (*item[0][:3], _order(item[0][3]), item[0][4] or datetime.min)
        )
        if n
    ]
    if rows:
        session.execute(insert(DeliveryTally), rows)
    return len(folded)
