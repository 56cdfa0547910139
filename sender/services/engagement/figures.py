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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, or_, select, true
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
class Clicks:
    """Clicks by people: every click, and distinct visitors (per day, summed)."""

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


def _since(session: Session, campaign_ids: Sequence[int]) -> dict[int, datetime]:
    """Where each campaign's raw events start to count: the day after its last rollup (absent: all of them).

    Days are rolled up in order for every campaign at once, so a campaign has no events on the days between
    its own last rollup and the last day rolled up."""
    rows = session.execute(
        select(EngagementRollup.campaign_id, func.max(EngagementRollup.day))
        .where(EngagementRollup.campaign_id.in_(campaign_ids))
        .group_by(EngagementRollup.campaign_id)
    )
    return {cid: datetime.combine(last + timedelta(days=1), time()) for cid, last in rows}


def _events(
    campaign_ids: Sequence[int],
    kind: EngagementKind,
    classification: EngagementClass,
    since: Mapping[int, datetime] | None = None,
) -> Any:
    """The events of these campaigns; with `since`, each campaign's from there (all of a campaign not in it)."""
    where = (EngagementEvent.kind == kind, EngagementEvent.classification == classification)
    if since is None:
        return (EngagementEvent.campaign_id.in_(campaign_ids), *where)
    # Campaigns sharing a start share a condition: rolled up together, they are few conditions, not one each.
    starts: dict[datetime | None, list[int]] = defaultdict(list)
    for cid in campaign_ids:
        starts[since.get(cid)].append(cid)
    fresh = [
        EngagementEvent.campaign_id.in_(ids)
        if at is None
        else and_(EngagementEvent.campaign_id.in_(ids), EngagementEvent.occurred_at >= at)
        for at, ids in starts.items()
    ]
    return (or_(false(), *fresh), *where)


def _rolled(
    campaign_ids: Sequence[int], kind: EngagementKind, classification: EngagementClass, level: str
) -> Any:
    """The rollup rows of one level: "link" (per link), "variant" (per variant) or "campaign" (as a whole)."""
    link = EngagementRollup.link_id.is_not(None) if level == "link" else EngagementRollup.link_id.is_(None)
    whole = EngagementRollup.all_variants == (true() if level == "campaign" else false())
    return (
        EngagementRollup.campaign_id.in_(campaign_ids),
        EngagementRollup.kind == kind,
        EngagementRollup.classification == classification,
        link,
        whole,
    )


def _daily(
    campaign_ids: Sequence[int], kind: EngagementKind, classification: EngagementClass, *, per_link: bool
) -> Any:
    # Folded clicks keep two sets of rows: one per link, and one with no link for the variant as a whole
    # (a visitor clicking two links is one unique visitor of the campaign). Opens have only the latter.
    link = EngagementDaily.link_id.is_not(None) if per_link else EngagementDaily.link_id.is_(None)
    return (
        EngagementDaily.campaign_id.in_(campaign_ids),
        EngagementDaily.kind == kind,
        EngagementDaily.classification == classification,
        link,
    )


# A figure per campaign id, then per A/B variant (None: a campaign without variants).
PerVariant = dict[int, dict[int | None, int]]


def _add(totals: PerVariant, rows: Any) -> None:
    """Add rows of (campaign id, variant, number) to the totals."""
    for campaign_id, variant, n in rows:
        totals[campaign_id][variant] = totals[campaign_id].get(variant, 0) + int(n or 0)


def _counts_by_variant(
    session: Session, campaign_ids: Sequence[int], kind: EngagementKind, classification: EngagementClass
) -> PerVariant:
    """Events of a kind and class per campaign and variant, every event counted."""
    totals: PerVariant = {cid: {} for cid in campaign_ids}
    if not campaign_ids:
        return totals
    since = _since(session, campaign_ids)
    raw = (
        select(EngagementEvent.campaign_id, EngagementEvent.variant, func.count())
        .where(*_events(campaign_ids, kind, classification, since))
        .group_by(EngagementEvent.campaign_id, EngagementEvent.variant)
    )
    _add(totals, session.execute(raw))
    _add_stored(session, totals, campaign_ids, kind, classification, "count")
    return totals


def _add_stored(
    session: Session,
    totals: PerVariant,
    campaign_ids: Sequence[int],
    kind: EngagementKind,
    classification: EngagementClass,
    measure: str,
) -> None:
    """Add to `totals` what the folded days and the rollup hold per campaign and variant: their `measure`
    ("count": events, "visitors": distinct visitors per day)."""
    folded = (
        select(
            EngagementDaily.campaign_id, EngagementDaily.variant, func.sum(getattr(EngagementDaily, measure))
        )
        .where(*_daily(campaign_ids, kind, classification, per_link=False))
        .group_by(EngagementDaily.campaign_id, EngagementDaily.variant)
    )
    rolled = (
        select(
            EngagementRollup.campaign_id,
            EngagementRollup.variant,
            func.sum(getattr(EngagementRollup, measure)),
        )
        .where(*_rolled(campaign_ids, kind, classification, "variant"))
        .group_by(EngagementRollup.campaign_id, EngagementRollup.variant)
    )
    for query in (folded, rolled):
        _add(totals, session.execute(query))


def _count(session: Session, campaign_id: int, kind: EngagementKind, classification: EngagementClass) -> int:
    """Events of a kind and class of one campaign, every event counted."""
    return sum(_counts_by_variant(session, [campaign_id], kind, classification)[campaign_id].values())


def _unique_by_variant(session: Session, campaign_ids: Sequence[int], kind: EngagementKind) -> PerVariant:
    """Distinct human visitors per campaign and variant (per day, summed)."""
    totals: PerVariant = {cid: {} for cid in campaign_ids}
    if not campaign_ids:
        return totals
    human = EngagementClass.HUMAN
    day = _day(session, EngagementEvent.occurred_at)
    pairs = (
        select(
            EngagementEvent.campaign_id,
            EngagementEvent.variant,
            day.label("day"),
            EngagementEvent.visitor_key,
        )
        .where(*_events(campaign_ids, kind, human, _since(session, campaign_ids)))
        .distinct()
        .subquery()
    )
    raw = select(pairs.c.campaign_id, pairs.c.variant, func.count()).group_by(
        pairs.c.campaign_id, pairs.c.variant
    )
    _add(totals, session.execute(raw))
    _add_stored(session, totals, campaign_ids, kind, human, "visitors")
    return totals


def clicks(session: Session, campaign_id: int) -> int:
    """Clicks by people on the campaign's links, every click counted."""
    return _count(session, campaign_id, EngagementKind.CLICK, EngagementClass.HUMAN)


def unique_clicks(session: Session, campaign_id: int) -> int:
    """Distinct visitors who clicked (per day, summed), all variants together."""
    return sum(unique_clicks_by_variant(session, campaign_id).values())


def unique_clicks_by_variant(session: Session, campaign_id: int) -> dict[int | None, int]:
    """Distinct visitors who clicked, per A/B variant (None: a campaign without variants)."""
    return _unique_by_variant(session, [campaign_id], EngagementKind.CLICK)[campaign_id]


def clicks_by_variant(session: Session, campaign_ids: Sequence[int]) -> dict[int, dict[int | None, Clicks]]:
    """Each campaign's clicks by people per A/B variant (None: no variant): a few queries for any number."""
    counts = _counts_by_variant(session, campaign_ids, EngagementKind.CLICK, EngagementClass.HUMAN)
    uniques = _unique_by_variant(session, campaign_ids, EngagementKind.CLICK)
    return {
        cid: {
            variant: Clicks(counts[cid].get(variant, 0), uniques[cid].get(variant, 0))
            for variant in counts[cid].keys() | uniques[cid].keys()
        }
        for cid in campaign_ids
    }


def scanner_clicks(session: Session, campaign_id: int) -> int:
    """Requests classified as security scanners: shown apart, counted nowhere else (R57)."""
    return _count(session, campaign_id, EngagementKind.CLICK, EngagementClass.SCANNER)


def opens(session: Session, campaign_id: int) -> OpenFigures:
    """Opens by people, their distinct visitors, and opens by privacy proxies."""
    human = _count(session, campaign_id, EngagementKind.OPEN, EngagementClass.HUMAN)
    unique = sum(_unique_by_variant(session, [campaign_id], EngagementKind.OPEN)[campaign_id].values())
    machine = _count(session, campaign_id, EngagementKind.OPEN, EngagementClass.MACHINE_OPEN)
    return OpenFigures(opens=human, unique=unique, machine=machine)


def clicks_per_link(session: Session, campaign_id: int) -> list[LinkFigure]:
    """Every link of the campaign in reading order (per variant), with its clicks and distinct visitors."""
    human = EngagementClass.HUMAN
    day = _day(session, EngagementEvent.occurred_at)
    since = _since(session, [campaign_id])
    counts: dict[int | None, int] = defaultdict(int)
    uniques: dict[int | None, int] = defaultdict(int)
    raw = (
        select(EngagementEvent.link_id, func.count())
        .where(*_events([campaign_id], EngagementKind.CLICK, human, since))
        .group_by(EngagementEvent.link_id)
    )
    for link_id, n in session.execute(raw):
        counts[link_id] += int(n)
    pairs = (
        select(EngagementEvent.link_id, day.label("day"), EngagementEvent.visitor_key)
        .where(*_events([campaign_id], EngagementKind.CLICK, human, since))
        .distinct()
        .subquery()
    )
    for link_id, n in session.execute(select(pairs.c.link_id, func.count()).group_by(pairs.c.link_id)):
        uniques[link_id] += int(n)
    folded = (
        select(EngagementDaily.link_id, func.sum(EngagementDaily.count), func.sum(EngagementDaily.visitors))
        .where(*_daily([campaign_id], EngagementKind.CLICK, human, per_link=True))
        .group_by(EngagementDaily.link_id)
    )
    rolled = (
        select(
            EngagementRollup.link_id, func.sum(EngagementRollup.count), func.sum(EngagementRollup.visitors)
        )
        .where(*_rolled([campaign_id], EngagementKind.CLICK, human, "link"))
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
    since = _since(session, [campaign_id]) if bucket == "day" else None
    pairs = (
        select(moment, day, EngagementEvent.visitor_key)
        .where(*_events([campaign_id], EngagementKind.CLICK, human, since))
        .distinct()
        .subquery()
    )
    series: dict[datetime, int] = defaultdict(int)
    for at, n in session.execute(select(pairs.c.moment, func.count()).group_by(pairs.c.moment)):
        series[_as_datetime(at)] += int(n)
    folded = (
        select(EngagementDaily.day, func.sum(EngagementDaily.visitors))
        .where(*_daily([campaign_id], EngagementKind.CLICK, human, per_link=False))
        .group_by(EngagementDaily.day)
    )
    queries = [folded]
    if since is not None and campaign_id in since:
        queries.append(
            select(EngagementRollup.day, func.sum(EngagementRollup.visitors))
            .where(*_rolled([campaign_id], EngagementKind.CLICK, human, "campaign"))
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
    "Clicks",
    "Engagement",
    "LinkFigure",
    "OpenFigures",
    "clicks",
    "clicks_by_variant",
    "clicks_per_link",
    "opens",
    "scanner_clicks",
    "summary",
    "unique_clicks",
    "unique_clicks_by_variant",
    "unique_clicks_over_time",
]
