"""The figures over time that the campaign report's and the dashboard's charts draw: counts only, never who.

Every query of those charts is here, grouped by day in SQL and folded into weeks in Python (at most a few
hundred rows leave the database). Messages sent and consents come from the summary counts the database's
triggers keep (campaigns/tallies.py), not from the rows; contacts and reactions have none and are counted
from their indexed rows. Days and weeks are UTC; a week starts on Monday.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from sender.enums import ConsentAction, ContactStatus, FeedbackKind
from sender.models import Campaign, ConsentEvent, Contact, Delivery, DeliveryFeedback, DeliveryTally
from sender.services.campaigns import tallies

# A campaign sent within two days is drawn by the hour, a longer one by the day.
HOURLY_SPAN = timedelta(hours=48)
MOVEMENTS = (ConsentAction.GRANT, ConsentAction.WITHDRAW)


@dataclass(frozen=True)
class Reactions:
    """What came back from a campaign's messages: bounces, complaints and withdrawals through its links."""

    hard_bounces: int
    soft_bounces: int
    complaints: int
    unsubscribes: int


@dataclass(frozen=True)
class Weekly:
    """Grants and withdrawals of one purpose, one figure per week of the window."""

    purpose: str
    granted: tuple[int, ...]
    withdrawn: tuple[int, ...]


@dataclass(frozen=True)
class Growth:
    """Contacts added per week, and contacts on file (not erased) at the end of each week."""

    added: tuple[int, ...]
    on_file: tuple[int, ...]


@dataclass(frozen=True)
class UnsubscribeRate:
    """One campaign's withdrawals through its own links over its messages sent."""

    campaign_id: int
    name: str
    sent: int
    unsubscribes: int

    @property
    def percent(self) -> float:
        """Withdrawals in % of messages sent (0 when none was sent)."""
        return 100.0 * self.unsubscribes / self.sent if self.sent else 0.0


def monday(day: date) -> date:
    """The Monday starting the week of `day`."""
    return day - timedelta(days=day.weekday())


def weeks_ending(now: datetime, weeks: int) -> list[date]:
    """The Mondays of the last `weeks` weeks, the current one last."""
    last = monday(now.date())
    return [last - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]


def days_ending(now: datetime, days: int) -> list[date]:
    """The last `days` days, today last."""
    return [now.date() - timedelta(days=n) for n in range(days - 1, -1, -1)]


# --- A campaign's report -------------------------------------------------------------------------------


def sent_over_time(session: Session, campaign_id: int) -> tuple[str, list[tuple[datetime, int]]]:
    """Messages of a campaign handed to the provider per hour (short sends) or per day: (unit, points)."""
    span = tallies.sent_span(session, campaign_id)
    if span is None:
        return "day", []
    first, last = span
    if last - first == HOURLY_SPAN:
        # First and last hours exactly two days apart: the sending took two days give or take an hour, and
        # only the minutes in the rows of those two hours tell which side of two days it fell.
        first, last = _sent_ends(session, campaign_id, first, last)
    unit = "hour" if last - first <= HOURLY_SPAN else "day"
    points = tallies.sent_by(session, unit, DeliveryTally.campaign_id == campaign_id)
    # Empty hours or days are drawn at zero, not skipped (a line would bridge them).
    step = timedelta(hours=1) if unit == "hour" else timedelta(days=1)
    start, end = min(points), max(points)
    filled, at = [], start
    while at <= end:
        filled.append((at, points.get(at, 0)))
        at += step
    return unit, filled


def _sent_ends(
    session: Session, campaign_id: int, first_hour: datetime, last_hour: datetime
) -> tuple[datetime, datetime]:
    """A campaign's first and last sent_at, read from its rows of its first and last hours sent."""

    def within(hour: datetime) -> list[ColumnElement[bool]]:
        # A range of ix_deliveries_sent_at: one hour's rows, whatever the campaign.
        end = hour + tallies.HOUR
        return [Delivery.campaign_id == campaign_id, Delivery.sent_at >= hour, Delivery.sent_at < end]

    first = session.scalar(select(func.min(Delivery.sent_at)).where(*within(first_hour)))
    last = session.scalar(select(func.max(Delivery.sent_at)).where(*within(last_hour)))
    return tallies.moment(first), tallies.moment(last)


def reactions(session: Session, campaign_id: int) -> Reactions:
    """Bounce and complaint reports about a campaign's messages, and withdrawals made through its links."""
    kinds = dict(
        session.execute(
            select(DeliveryFeedback.kind, func.count())
            # Reports naming one of its messages, as the campaign's rates count them (deliverability.rates).
            .where(DeliveryFeedback.campaign_id == campaign_id, DeliveryFeedback.delivery_id.is_not(None))
            .group_by(DeliveryFeedback.kind)
        ).all()
    )
    return Reactions(
        hard_bounces=int(kinds.get(FeedbackKind.HARD_BOUNCE, 0)),
        soft_bounces=int(kinds.get(FeedbackKind.SOFT_BOUNCE, 0)),
        complaints=int(kinds.get(FeedbackKind.COMPLAINT, 0)),
        unsubscribes=_unsubscribes(session, [campaign_id]).get(campaign_id, 0),
    )


def _collection_point(campaign_id: int) -> str:
    # What withdrawal.py records for a withdrawal made through a campaign's own links.
    return f"campaign:{campaign_id}"


def _unsubscribes(session: Session, campaign_ids: Sequence[int]) -> dict[int, int]:
    """Withdrawals through each campaign's links (its footer, List-Unsubscribe, STOP to its SMS)."""
    if not campaign_ids:
        return {}
    points = {_collection_point(cid): cid for cid in campaign_ids}
    rows = session.execute(
        select(ConsentEvent.collection_point, func.count())
        .where(ConsentEvent.collection_point.in_(points), ConsentEvent.action == ConsentAction.WITHDRAW)
        .group_by(ConsentEvent.collection_point)
    ).all()
    return {points[point]: int(n) for point, n in rows if point in points}


# --- The dashboard -------------------------------------------------------------------------------------


def consents_per_week(session: Session, now: datetime, weeks: int = 12) -> tuple[list[date], list[Weekly]]:
    """Grants and withdrawals per purpose in each of the last `weeks` weeks (Mondays, purposes by name)."""
    mondays = weeks_ending(now, weeks)
    # From the summary counts: the window starts on a Monday at midnight, a whole hour of consent_tallies.
    start = datetime.combine(mondays[0], datetime.min.time())
    rows = tallies.consents_by(session, start, MOVEMENTS, "day")
    index = {m: i for i, m in enumerate(mondays)}
    counts: dict[str, dict[str, list[int]]] = defaultdict(lambda: {a: [0] * weeks for a in MOVEMENTS})
    for name, action, at, n in rows:
        week = index.get(monday(at.date()))
        if week is not None:
            counts[name][action][week] += n
    return mondays, [
        Weekly(name, tuple(c[ConsentAction.GRANT]), tuple(c[ConsentAction.WITHDRAW]))
        for name, c in sorted(counts.items())
    ]


def audience_growth(session: Session, now: datetime, weeks: int = 12) -> tuple[list[date], Growth]:
    """Contacts added in each of the last `weeks` weeks, and those on file (not erased) at each week's end."""
    mondays = weeks_ending(now, weeks)
    start = datetime.combine(mondays[0], datetime.min.time())
    index = {m: i for i, m in enumerate(mondays)}
    erased = Contact.status == ContactStatus.ERASED
    day = tallies.truncate(session, Contact.created_at, "day").label("day")

    def per_week(*where: ColumnElement[bool]) -> list[int]:
        counts = [0] * weeks
        rows = session.execute(
            select(day, func.count()).where(Contact.created_at >= start, *where).group_by(day)
        ).all()
        for at, n in rows:
            week = index.get(monday(tallies.moment(at).date()))
            if week is not None:
                counts[week] += int(n)
        return counts

    # Creation times alone (an index-only scan of ix_contacts_created_id), then the few erased ones
    # (ix_contacts_status): the status of every row is never read.
    added = per_week()
    kept = [a - e for a, e in zip(added, per_week(erased), strict=True)]
    on_file_now = session.scalar(select(func.count()).where(~erased)) or 0
    on_file, total = [], int(on_file_now) - sum(kept)
    for n in kept:
        total += n
        on_file.append(total)
    return mondays, Growth(tuple(added), tuple(on_file))


def sent_per_day(session: Session, now: datetime, days: int = 30) -> tuple[list[date], list[int]]:
    """Messages handed to a provider on each of the last `days` days, every campaign and channel."""
    span = days_ending(now, days)
    # From the summary counts: the window starts at midnight, a whole hour of delivery_tallies.
    start = datetime.combine(span[0], datetime.min.time())
    per_day = tallies.sent_by(session, "day", DeliveryTally.sent_hour >= start)
    return span, [per_day.get(datetime.combine(d, datetime.min.time()), 0) for d in span]


def unsubscribe_rates(session: Session, limit: int = 10) -> list[UnsubscribeRate]:
    """The last `limit` launched campaigns, oldest first, with their withdrawals over messages sent."""
    campaigns = session.execute(
        select(Campaign.id, Campaign.name)
        .where(Campaign.launched_at.is_not(None))
        .order_by(Campaign.launched_at.desc(), Campaign.id.desc())
        .limit(limit)
    ).all()
    ids = [cid for cid, _ in campaigns]
    if not ids:
        return []
    sent = tallies.sent_counts(session, ids)
    unsubscribed = _unsubscribes(session, ids)
    return [
        UnsubscribeRate(cid, name, sent.get(cid, 0), unsubscribed.get(cid, 0))
        for cid, name in reversed(campaigns)
    ]
