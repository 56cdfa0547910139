"""The engagement figures reports, charts and the A/B winner read: counts only, never who.

Every figure adds three sources: the daily counts events are folded into after TRACKING_RETENTION
(`retention.fold`), the counts of the whole past days already rolled up (`retention.rollup`, kept beside
their events), and the raw events of the days after the campaign's last rollup. A report thus reads a few
rows per past day instead of every click, and says the same before and after either. Only events classified
`human` are clicks and opens; scanner clicks and machine opens are counted apart and nowhere else.

"Unique" means distinct visitor keys per day, summed over days: the key's salt changes every day and is
never kept (visitors.py), so one person clicking on two days counts twice. That is the price of a measure
that identifies no one (Plausible makes the same trade).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, false, func, select, true
from sqlalchemy.orm import Session

from sender.enums import EngagementClass, EngagementKind
from sender.models import CampaignLink, EngagementDaily, EngagementEvent, EngagementRollup

BUCKETS = ("day", "hour")


@dataclass(frozen=True)
class LinkFigure:
    """One link of a campaign: how often people clicked it, and how many distinct visitors did."""

    link_id: int
    url: str
    variant: int | None
    clicks: int
    unique: int


@dataclass(frozen=True)
class OpenFigures:
    """Opens by people (pixel loaded by a mail client), and opens by privacy proxies counted apart."""

    opens: int
    unique: int
    machine: int


@dataclass(frozen=True)
class Engagement:
    """A campaign's engagement at a glance."""

    clicks: int
    unique_clicks: int
    scanner_clicks: int
    opens: OpenFigures
    links: list[LinkFigure]


def _day(session: Session, column: Any) -> ColumnElement[Any]:
    """The calendar day (UTC) of a timestamp column, the same on both backends."""
    if session.get_bind().dialect.name == "postgresql":
        return func.date_trunc("day", column)
    return func.strftime("%Y-%m-%d 00:00:00", column)


def _bucket(session: Session, column: Any, unit: str) -> ColumnElement[Any]:
    if unit not in BUCKETS:
        raise ValueError(f"unknown bucket {unit!r}; expected one of {', '.join(BUCKETS)}")
    if unit == "day":
        return _day(session, column)
    if session.get_bind().dialect.name == "postgresql":
        return func.date_trunc("hour", column)
    return func.strftime("%Y-%m-%d %H:00:00", column)


def _as_datetime(value: Any) -> datetime:
    # SQLite answers text, PostgreSQL a timestamp.
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    return datetime.fromisoformat(str(value))


def _since(session: Session, campaign_id: int) -> datetime | None:
    """Where the campaign's raw events start to count: the day after its last rollup (None: all of them).

    Days are rolled up in order for every campaign at once, so a campaign has no events on the days between
    its own last rollup and the last day rolled up."""
    last = session.scalar(
        select(func.max(EngagementRollup.day)).where(EngagementRollup.campaign_id == campaign_id)
    )
    return None if last is None else datetime.combine(last + timedelta(days=1), time())


def _events(
    campaign_id: int, kind: EngagementKind, classification: EngagementClass, since: datetime | None = None
) -> Any:
    where = (
        EngagementEvent.campaign_id == campaign_id,
        EngagementEvent.kind == kind,
        EngagementEvent.classification == classification,
    )
    return where if since is None else (*where, EngagementEvent.occurred_at >= since)


def _rolled(campaign_id: int, kind: EngagementKind, classification: EngagementClass, level: str) -> Any:
    """The rollup rows of one level: "link" (per link), "variant" (per variant) or "campaign" (as a whole)."""
    link = EngagementRollup.link_id.is_not(None) if level == "link" else EngagementRollup.link_id.is_(None)
    whole = EngagementRollup.all_variants == (true() if level == "campaign" else false())
    return (
        EngagementRollup.campaign_id == campaign_id,
        EngagementRollup.kind == kind,
        EngagementRollup.classification == classification,
        link,
        whole,
    )


def _daily(campaign_id: int, kind: EngagementKind, classification: EngagementClass, *, per_link: bool) -> Any:
    # Folded clicks keep two sets of rows: one per link, and one with no link for the variant as a whole
    # (a visitor clicking two links is one unique visitor of the campaign). Opens have only the latter.
    link = EngagementDaily.link_id.is_not(None) if per_link else EngagementDaily.link_id.is_(None)
    return (
        EngagementDaily.campaign_id == campaign_id,
        EngagementDaily.kind == kind,
        EngagementDaily.classification == classification,
        link,
    )


def _count(session: Session, campaign_id: int, kind: EngagementKind, classification: EngagementClass) -> int:
    since = _since(session, campaign_id)
    raw = session.scalar(select(func.count()).where(*_events(campaign_id, kind, classification, since))) or 0
    folded = session.scalar(
        select(func.coalesce(func.sum(EngagementDaily.count), 0)).where(
            *_daily(campaign_id, kind, classification, per_link=False)
        )
    )
    rolled = session.scalar(
        select(func.coalesce(func.sum(EngagementRollup.count), 0)).where(
            *_rolled(campaign_id, kind, classification, "campaign")
        )
    )
    return int(raw) + int(folded or 0) + int(rolled or 0)


def _unique_by_variant(session: Session, campaign_id: int, kind: EngagementKind) -> dict[int | None, int]:
    human = EngagementClass.HUMAN
    day = _day(session, EngagementEvent.occurred_at)
    pairs = (
        select(EngagementEvent.variant, day.label("day"), EngagementEvent.visitor_key)
        .where(*_events(campaign_id, kind, human, _since(session, campaign_id)))
        .distinct()
        .subquery()
    )
    totals: dict[int | None, int] = defaultdict(int)
    for variant, n in session.execute(select(pairs.c.variant, func.count()).group_by(pairs.c.variant)):
        totals[variant] += int(n)
    folded = (
        select(EngagementDaily.variant, func.sum(EngagementDaily.visitors))
        .where(*_daily(campaign_id, kind, human, per_link=False))
        .group_by(EngagementDaily.variant)
    )
    rolled = (
        select(EngagementRollup.variant, func.sum(EngagementRollup.visitors))
        .where(*_rolled(campaign_id, kind, human, "variant"))
        .group_by(EngagementRollup.variant)
    )
    for query in (folded, rolled):
        for variant, n in session.execute(query):
            totals[variant] += int(n or 0)
    return dict(totals)


def clicks(session: Session, campaign_id: int) -> int:
    """Clicks by people on the campaign's links, every click counted."""
    return _count(session, campaign_id, EngagementKind.CLICK, EngagementClass.HUMAN)


def unique_clicks(session: Session, campaign_id: int) -> int:
    """Distinct visitors who clicked (per day, summed), all variants together."""
    return sum(_unique_by_variant(session, campaign_id, EngagementKind.CLICK).values())


def unique_clicks_by_variant(session: Session, campaign_id: int) -> dict[int | None, int]:
    """Distinct visitors who clicked, per A/B variant (None: a campaign without variants)."""
    return _unique_by_variant(session, campaign_id, EngagementKind.CLICK)


def scanner_clicks(session: Session, campaign_id: int) -> int:
    """Requests classified as security scanners: shown apart, counted nowhere else (R57)."""
    return _count(session, campaign_id, EngagementKind.CLICK, EngagementClass.SCANNER)


def opens(session: Session, campaign_id: int) -> OpenFigures:
    """Opens by people, their distinct visitors, and opens by privacy proxies."""
    human = _count(session, campaign_id, EngagementKind.OPEN, EngagementClass.HUMAN)
    unique = sum(_unique_by_variant(session, campaign_id, EngagementKind.OPEN).values())
    machine = _count(session, campaign_id, EngagementKind.OPEN, EngagementClass.MACHINE_OPEN)
    return OpenFigures(opens=human, unique=unique, machine=machine)


def clicks_per_link(session: Session, campaign_id: int) -> list[LinkFigure]:
    """Every link of the campaign in reading order (per variant), with its clicks and distinct visitors."""
    human = EngagementClass.HUMAN
    day = _day(session, EngagementEvent.occurred_at)
    since = _since(session, campaign_id)
    counts: dict[int | None, int] = defaultdict(int)
    uniques: dict[int | None, int] = defaultdict(int)
    raw = (
        select(EngagementEvent.link_id, func.count())
        .where(*_events(campaign_id, EngagementKind.CLICK, human, since))
        .group_by(EngagementEvent.link_id)
    )
    for link_id, n in session.execute(raw):
        counts[link_id] += int(n)
    pairs = (
        select(EngagementEvent.link_id, day.label("day"), EngagementEvent.visitor_key)
        .where(*_events(campaign_id, EngagementKind.CLICK, human, since))
        .distinct()
        .subquery()
    )
    for link_id, n in session.execute(select(pairs.c.link_id, func.count()).group_by(pairs.c.link_id)):
        uniques[link_id] += int(n)
    folded = (
        select(EngagementDaily.link_id, func.sum(EngagementDaily.count), func.sum(EngagementDaily.visitors))
        .where(*_daily(campaign_id, EngagementKind.CLICK, human, per_link=True))
        .group_by(EngagementDaily.link_id)
    )
    rolled = (
        select(
            EngagementRollup.link_id, func.sum(EngagementRollup.count), func.sum(EngagementRollup.visitors)
        )
        .where(*_rolled(campaign_id, EngagementKind.CLICK, human, "link"))
        .group_by(EngagementRollup.link_id)
    )
    for query in (folded, rolled):
        for link_id, n, v in session.execute(query):
            counts[link_id] += int(n or 0)
            uniques[link_id] += int(v or 0)
    links = session.execute(
        select(CampaignLink.id, CampaignLink.url, CampaignLink.variant)
        .where(CampaignLink.campaign_id == campaign_id)
        .order_by(CampaignLink.variant, CampaignLink.position, CampaignLink.id)
    )
    return [LinkFigure(i, url, variant, counts.get(i, 0), uniques.get(i, 0)) for i, url, variant in links]


def unique_clicks_over_time(
    session: Session, campaign_id: int, bucket: str = "day"
) -> list[tuple[datetime, int]]:
    """Distinct visitors who clicked, per day or hour (folded days count at their midnight), oldest first.

    Per day, the rolled-up days are read from their counts; per hour, from the events themselves."""
    human = EngagementClass.HUMAN
    moment = _bucket(session, EngagementEvent.occurred_at, bucket).label("moment")
    day = _day(session, EngagementEvent.occurred_at).label("day")
    since = _since(session, campaign_id) if bucket == "day" else None
    pairs = (
        select(moment, day, EngagementEvent.visitor_key)
        .where(*_events(campaign_id, EngagementKind.CLICK, human, since))
        .distinct()
        .subquery()
    )
    series: dict[datetime, int] = defaultdict(int)
    for at, n in session.execute(select(pairs.c.moment, func.count()).group_by(pairs.c.moment)):
        series[_as_datetime(at)] += int(n)
    folded = (
        select(EngagementDaily.day, func.sum(EngagementDaily.visitors))
        .where(*_daily(campaign_id, EngagementKind.CLICK, human, per_link=False))
        .group_by(EngagementDaily.day)
    )
    queries = [folded]
    if since is not None:
        queries.append(
            select(EngagementRollup.day, func.sum(EngagementRollup.visitors))
            .where(*_rolled(campaign_id, EngagementKind.CLICK, human, "campaign"))
            .group_by(EngagementRollup.day)
        )
    for query in queries:
        for at, n in session.execute(query):
            series[_as_datetime(at)] += int(n or 0)
    return sorted(series.items())


def summary(session: Session, campaign_id: int) -> Engagement:
    """A campaign's engagement figures, as its report shows them."""
    return Engagement(
        clicks=clicks(session, campaign_id),
        unique_clicks=unique_clicks(session, campaign_id),
        scanner_clicks=scanner_clicks(session, campaign_id),
        opens=opens(session, campaign_id),
        links=clicks_per_link(session, campaign_id),
    )


__all__ = [
    "BUCKETS",
    "Engagement",
    "LinkFigure",
    "OpenFigures",
    "clicks",
    "clicks_per_link",
    "opens",
    "scanner_clicks",
    "summary",
    "unique_clicks",
    "unique_clicks_by_variant",
    "unique_clicks_over_time",
]
