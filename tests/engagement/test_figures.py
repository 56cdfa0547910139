"""The engagement figures: people's clicks and opens counted, scanners and proxies apart, uniques per day."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sender.enums import EngagementClass, EngagementKind
from sender.models import CampaignLink, EngagementDaily, EngagementEvent, EngagementRollup
from sender.services.engagement import figures, retention
from tests import factories
from tests.factories import CampaignFactory

DAY1 = datetime(2026, 3, 2, 9, 0)
DAY2 = datetime(2026, 3, 3, 14, 0)
CLICK, OPEN = EngagementKind.CLICK, EngagementKind.OPEN
HUMAN, SCANNER, MACHINE = EngagementClass.HUMAN, EngagementClass.SCANNER, EngagementClass.MACHINE_OPEN


def _event(
    session: Session, campaign_id: int, kind: str, cls: str, at: datetime, visitor: str, **kw: object
) -> None:
    session.add(
        EngagementEvent(
            campaign_id=campaign_id, kind=kind, classification=cls, occurred_at=at, visitor_key=visitor, **kw
        )
    )


def _arrange(session: Session) -> tuple[int, CampaignLink, CampaignLink]:
    factories.bind(session)
    campaign = CampaignFactory()
    first = CampaignLink(campaign_id=campaign.id, position=0, url="https://example.org/a")
    second = CampaignLink(campaign_id=campaign.id, position=1, url="https://example.org/b")
    session.add_all([first, second])
    session.flush()
    cid = campaign.id
    # Visitor v1 clicks both links twice on day 1 and once on day 2; v2 clicks the second link once.
    for at in (DAY1, DAY1 + timedelta(minutes=5)):
        _event(session, cid, CLICK, HUMAN, at, "v1", link_id=first.id)
        _event(session, cid, CLICK, HUMAN, at, "v1", link_id=second.id)
    _event(session, cid, CLICK, HUMAN, DAY2, "v1b", link_id=first.id)
    _event(session, cid, CLICK, HUMAN, DAY1 + timedelta(hours=1), "v2", link_id=second.id)
    # A scanner burst over both links, a person's open, a proxy's open.
    for link in (first, second):
        _event(session, cid, CLICK, SCANNER, DAY1, "s", link_id=link.id)
    _event(session, cid, OPEN, HUMAN, DAY1, "v1")
    _event(session, cid, OPEN, HUMAN, DAY1, "v1")
    _event(session, cid, OPEN, MACHINE, DAY1, "p")
    session.flush()
    return cid, first, second


def test_counts_people_and_keeps_scanners_and_proxies_apart(db_session: Session) -> None:
    cid, _, _ = _arrange(db_session)
    report = figures.summary(db_session, cid)
    assert report.clicks == 6
    # v1 and v2 on day 1, v1 again on day 2 (a new day's key).
    assert report.unique_clicks == 3
    assert report.scanner_clicks == 2
    assert report.opens == figures.OpenFigures(opens=2, unique=1, machine=1)
    assert [(f.url, f.clicks, f.unique) for f in report.links] == [
        ("https://example.org/a", 3, 2),
        ("https://example.org/b", 3, 2),
    ]
    assert figures.unique_clicks_by_variant(db_session, cid) == {None: 3}


def test_unique_clicks_over_time_by_day_and_hour(db_session: Session) -> None:
    cid, _, _ = _arrange(db_session)
    assert figures.unique_clicks_over_time(db_session, cid) == [
        (datetime(2026, 3, 2), 2),
        (datetime(2026, 3, 3), 1),
    ]
    assert figures.unique_clicks_over_time(db_session, cid, "hour") == [
        (datetime(2026, 3, 2, 9), 1),
        (datetime(2026, 3, 2, 10), 1),
        (datetime(2026, 3, 3, 14), 1),
    ]


def test_variants_are_counted_apart(db_session: Session) -> None:
    factories.bind(db_session)
    campaign = CampaignFactory()
    for variant, visitors in ((0, ["a", "b"]), (1, ["c"])):
        for v in visitors:
            _event(db_session, campaign.id, CLICK, HUMAN, DAY1, v, variant=variant)
    db_session.flush()
    assert figures.unique_clicks_by_variant(db_session, campaign.id) == {0: 2, 1: 1}


def test_folded_days_add_to_the_events_still_kept(db_session: Session) -> None:
    cid, first, _ = _arrange(db_session)
    old = DAY1.date() - timedelta(days=400)
    db_session.add_all(
        [
            EngagementDaily(campaign_id=cid, day=old, kind=CLICK, classification=HUMAN, count=5, visitors=4),
            EngagementDaily(
                campaign_id=cid,
                link_id=first.id,
                day=old,
                kind=CLICK,
                classification=HUMAN,
                count=5,
                visitors=4,
            ),
            EngagementDaily(campaign_id=cid, day=old, kind=OPEN, classification=MACHINE, count=7, visitors=1),
        ]
    )
    db_session.flush()
    report = figures.summary(db_session, cid)
    assert (report.clicks, report.unique_clicks, report.opens.machine) == (11, 7, 8)
    assert report.links[0].clicks == 8
    assert figures.unique_clicks_over_time(db_session, cid)[0] == (datetime(old.year, old.month, old.day), 4)


def _all_figures(session: Session, cid: int) -> tuple[object, ...]:
    return (
        figures.summary(session, cid),
        figures.unique_clicks_by_variant(session, cid),
        figures.unique_clicks_over_time(session, cid),
        figures.unique_clicks_over_time(session, cid, "hour"),
    )


def test_rolled_up_days_say_what_their_events_said(db_session: Session) -> None:
    cid, _, second = _arrange(db_session)
    # A/B readers: one visitor key on two variants the same day is one visitor of the day, two of the variants.
    variant_links = [
        CampaignLink(campaign_id=cid, variant=v, position=0, url=f"https://example.org/{v}") for v in (0, 1)
    ]
    db_session.add_all(variant_links)
    db_session.flush()
    for variant, visitor in ((0, "a"), (1, "a"), (1, "b")):
        _event(
            db_session, cid, CLICK, HUMAN, DAY2, visitor, variant=variant, link_id=variant_links[variant].id
        )
    db_session.flush()
    before = _all_figures(db_session, cid)

    # Rolled up a day after the second day: both days counted once, their events kept.
    rolled = retention.rollup(db_session, DAY2 + timedelta(days=1), lambda: True)
    assert rolled == db_session.scalar(select(func.count()).select_from(EngagementEvent))
    assert db_session.scalar(select(func.count()).select_from(EngagementRollup)) > 0
    assert _all_figures(db_session, cid) == before
    assert retention.rollup(db_session, DAY2 + timedelta(days=1), lambda: True) == 0

    # A later day's clicks are read from the events until their day is rolled up too.
    later = DAY2 + timedelta(days=3)
    _event(db_session, cid, CLICK, HUMAN, later, "v9", link_id=second.id)
    db_session.flush()
    grown = _all_figures(db_session, cid)
    assert grown[0].clicks == before[0].clicks + 1
    assert grown[2][-1] == (datetime(later.year, later.month, later.day), 1)
    assert retention.rollup(db_session, later, lambda: True) == 0  # its day is not over
    assert retention.rollup(db_session, later + timedelta(days=1), lambda: True) == 1
    assert _all_figures(db_session, cid) == grown

    # Folding the old days into daily counts replaces their rollups: the report's figures stay (the daily
    # counts keep each variant's visitors, not the campaign's, so only the chart's A/B day may differ).
    folded = retention.fold(db_session, 1, later + timedelta(days=1), lambda: True)
    assert folded == rolled
    assert db_session.scalar(select(func.min(EngagementRollup.day))) == later.date()
    assert _all_figures(db_session, cid)[:2] == grown[:2]


def test_clicks_by_variant_of_several_campaigns_say_the_same_through_rollups_and_folds(
    db_session: Session,
) -> None:
    factories.bind(db_session)
    old, new = CampaignFactory(), CampaignFactory()
    links = {
        (c.id, v): CampaignLink(campaign_id=c.id, variant=v, position=0, url=f"https://example.org/{v}")
        for c in (old, new)
        for v in (0, 1)
    }
    db_session.add_all(links.values())
    db_session.flush()
    later = DAY2 + timedelta(days=3)
    clicks = [
        (old.id, 0, DAY1, "a", HUMAN),
        (old.id, 0, DAY1 + timedelta(minutes=5), "a", HUMAN),
        (old.id, 1, DAY1, "b", HUMAN),
        (old.id, 1, DAY2, "a", HUMAN),
        (old.id, 0, DAY2, "s", SCANNER),
        (new.id, 1, later, "c", HUMAN),
    ]
    for cid, variant, at, visitor, cls in clicks:
        _event(db_session, cid, CLICK, cls, at, visitor, variant=variant, link_id=links[(cid, variant)].id)
    db_session.flush()
    # Every click of a variant, and its visitors per day: A's visitor clicked twice on one day.
    expected = {
        old.id: {0: figures.Clicks(2, 1), 1: figures.Clicks(2, 2)},
        new.id: {1: figures.Clicks(1, 1)},
    }

    def found() -> dict[int, dict[int | None, figures.Clicks]]:
        both = figures.clicks_by_variant(db_session, [old.id, new.id])
        for cid in (old.id, new.id):
            # The same rules as the per-link and per-variant figures, one campaign at a time.
            per_link: dict[int | None, int] = {}
            for link in figures.clicks_per_link(db_session, cid):
                per_link[link.variant] = per_link.get(link.variant, 0) + link.clicks
            assert {v: c.clicks for v, c in both[cid].items()} == {v: n for v, n in per_link.items() if n}
            assert {v: c.unique for v, c in both[cid].items()} == figures.unique_clicks_by_variant(
                db_session, cid
            )
        return both

    assert found() == expected
    # The old campaign's days rolled up, the new one's events still raw: each read from its own start.
    assert retention.rollup(db_session, DAY2 + timedelta(days=1), lambda: True) == 5
    assert found() == expected
    assert retention.rollup(db_session, later + timedelta(days=1), lambda: True) == 1
    assert found() == expected
    # The old days folded into daily counts: the same again.
    assert retention.fold(db_session, 1, later + timedelta(days=1), lambda: True) == 5
    assert found() == expected
