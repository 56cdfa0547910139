"""A/B tests: variants of a campaign sent to a test share each, then the winner to everyone else.

At launch, planning splits the gated audience by a stable hash of the contact id: each variant's share is
queued in batches of its own, and the rest is recorded `deferred` with reason `ab_test` (planning.py).
When the wait is over (the `DecideAbTest` job, or the sweep if the job was lost), the variant with the
most unique aggregate clicks wins (ties: the most clicks, then the earlier variant); with `decide_by`
manual, a person picks it. The decision is one guarded UPDATE (a second one finds it taken), releases the
waiting deliveries to the winner's content, records the figures it saw and is audited. The released
deliveries are claimed like any other, so the consent gate checks each person again before sending.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sender import work
from sender.db import rowcount, utcnow
from sender.enums import AbDecision, CampaignStatus, DeliveryReason, DeliveryStatus
from sender.i18n import N_
from sender.models import AbTest, Campaign, Delivery
from sender.runtime import Runtime
from sender.services.campaigns import lifecycle
from sender.services.engagement import figures
from sender.services.errors import Conflict, NotFound, ValidationFailed
from sender.services.messages import variants
from sender.services.records import audit
from sender.work.jobs import DecideAbTest, SendBatch

REASON = DeliveryReason.AB_TEST
# Who decides when the wait is over.
SCHEDULER = "scheduler"
# Campaign statuses a decision may be taken in: a paused campaign's rest waits for its resume.
DECIDABLE = (CampaignStatus.SENDING, CampaignStatus.PAUSED, CampaignStatus.SENT)
# Statuses in which the pages offer a person the pick (a sent campaign's test has nobody left waiting).
PICKABLE = (CampaignStatus.SENDING, CampaignStatus.PAUSED)


def pending(campaign: Campaign) -> AbTest | None:
    """The campaign's test if its winner is not chosen yet."""
    test = campaign.ab_test
    return test if test is not None and test.winner is None else None


def arm(campaign: Campaign) -> tuple[DecideAbTest, datetime] | None:
    """At launch: when an undecided test by clicks is decided, and the job that decides it then."""
    test = pending(campaign)
    if test is None or test.decide_by != AbDecision.CLICKS or test.decide_at is not None:
        return None
    test.decide_at = (campaign.launched_at or utcnow()) + timedelta(minutes=test.wait_minutes)
    return DecideAbTest(campaign.id, campaign.channel), test.decide_at


def batch_variant(session: Session, campaign: Campaign, batch_no: int) -> int | None:
    """The variant a batch renders (each batch holds one); None for a campaign without a test."""
    if campaign.ab_test is None:
        return None
    return session.scalar(
        select(Delivery.variant)
        .where(
            Delivery.campaign_id == campaign.id, Delivery.batch_no == batch_no, Delivery.variant.is_not(None)
        )
        .limit(1)
    )


@dataclass(frozen=True)
class VariantFigures:
    """One variant's figures: messages sent and the clicks that judge it."""

    variant: int
    subject: str
    body_html: str
    body_text: str
    sent: int
    unique_clicks: int
    clicks: int

    @property
    def name(self) -> str:
        """A, B, C or D."""
        return variants.name(self.variant)

    @property
    def click_rate(self) -> float:
        """Unique clicks per message sent, in percent."""
        return 100.0 * self.unique_clicks / self.sent if self.sent else 0.0


@dataclass(frozen=True)
class Report:
    """A test as its report shows it: the rules, each variant's figures now, and the decision if taken."""

    test_percent: int
    wait_minutes: int
    decide_by: str
    decide_at: datetime | None
    winner: int | None
    decided_at: datetime | None
    decided_by: str | None
    variants: list[VariantFigures]
    # The figures the decision saw, by variant letter, as recorded then.
    decided_on: dict[str, dict[str, int]]
    waiting: int
    # Whether a person may pick the winner now: undecided, and the campaign is sending or paused.
    decidable: bool

    @property
    def winner_name(self) -> str | None:
        """The winning variant's letter."""
        return variants.name(self.winner) if self.winner is not None else None


def figures_of(session: Session, campaign: Campaign) -> list[VariantFigures]:
    """Each variant's messages sent, unique clicks and clicks (human only), from the summary counts and events."""
    return figures_for(session, [campaign])[campaign.id]


def figures_for(
    session: Session, campaigns: Sequence[Campaign], counts: Mapping[int, lifecycle.Report] | None = None
) -> dict[int, list[VariantFigures]]:
    """`figures_of` for several campaigns in a few grouped queries; `counts`: their reports, if read already.

    Messages sent are the campaign report's own (lifecycle.reports_for): live rows and compacted ones alike."""
    ids = [c.id for c in campaigns]
    counts = counts if counts is not None else lifecycle.reports_for(session, ids)
    clicks = figures.clicks_by_variant(session, ids)
    none = figures.Clicks(0, 0)
    found: dict[int, list[VariantFigures]] = {}
    for campaign in campaigns:
        sent = counts[campaign.id].by_variant
        found[campaign.id] = [
            VariantFigures(
                variant=index,
                subject=parts.subject,
                body_html=parts.body_html,
                body_text=parts.body_text,
                sent=sent.get(index, {}).get(DeliveryStatus.SENT, 0),
                unique_clicks=clicks[campaign.id].get(index, none).unique,
                clicks=clicks[campaign.id].get(index, none).clicks,
            )
            for index, parts in variants.contents(campaign).items()
            if index is not None
        ]
    return found


def report(session: Session, campaign: Campaign, counts: lifecycle.Report | None = None) -> Report | None:
    """The test's report, or None for a campaign without a test; `counts`: its campaign report, if read."""
    known = None if counts is None else {campaign.id: counts}
    return reports_for(session, [campaign], known).get(campaign.id)


def reports_for(
    session: Session, campaigns: Sequence[Campaign], counts: Mapping[int, lifecycle.Report] | None = None
) -> dict[int, Report]:
    """The reports of the tested ones of several campaigns, in a few grouped queries, not a few per campaign;
    `counts`: their campaign reports (lifecycle.reports_for), if read already."""
    tested = [c for c in campaigns if c.ab_test is not None]
    if not tested:
        return {}
    counts = counts if counts is not None else lifecycle.reports_for(session, [c.id for c in tested])
    found = figures_for(session, tested, counts)
    reports = {}
    for campaign in tested:
        test = campaign.ab_test
        assert test is not None
        reports[campaign.id] = Report(
            test_percent=test.test_percent,
            wait_minutes=test.wait_minutes,
            decide_by=test.decide_by,
            decide_at=test.decide_at,
            winner=test.winner,
            decided_at=test.decided_at,
            decided_by=test.decided_by,
            variants=found[campaign.id],
            decided_on={variants.name(int(k)): v for k, v in sorted((test.figures or {}).items())},
            waiting=counts[campaign.id].deferred.get(REASON, 0),
            decidable=test.winner is None and campaign.status in PICKABLE,
        )
    return reports


def best(found: list[VariantFigures]) -> int:
    """The winner by clicks: the most unique clicks, then the most clicks, then the earlier variant."""
    return max(found, key=lambda f: (f.unique_clicks, f.clicks, -f.variant)).variant


def decide(session: Session, campaign: Campaign, actor: str, variant: int | None = None) -> int:
    """Choose the winner (`variant`, or the best by clicks), release the waiting deliveries to it and enqueue
    their batches (sent after the caller's commit); the winner. Conflict if already chosen or too late."""
    test = campaign.ab_test
    if test is None:
        raise NotFound(N_("this campaign has no A/B test"))
    if campaign.status not in DECIDABLE:
        raise Conflict(N_("campaign is %(status)s; its A/B test cannot be decided", status=campaign.status))
    known = variants.contents(campaign)
    if variant is not None and variant not in known:
        raise ValidationFailed({"variant": N_("no such variant")})
    seen = figures_of(session, campaign)
    winner = best(seen) if variant is None else variant
    now = utcnow()
    # Guarded: of two deciders (the job and a person, or the sweep), one wins; the other is told.
    taken = rowcount(
        session.execute(
            update(AbTest)
            .where(AbTest.campaign_id == campaign.id, AbTest.winner.is_(None))
            .values(
                winner=winner,
                decided_at=now,
                decided_by=actor,
                figures={
                    str(f.variant): {"sent": f.sent, "unique_clicks": f.unique_clicks, "clicks": f.clicks}
                    for f in seen
                },
            )
            .execution_options(synchronize_session=False)
        )
    )
    if taken != 1:
        session.refresh(test)
        raise Conflict(
            N_("the A/B test's winner is already variant %(name)s", name=variants.name(test.winner))
        )
    session.refresh(test)
    released = rowcount(
        session.execute(
            update(Delivery)
            .where(
                Delivery.campaign_id == campaign.id,
                Delivery.status == DeliveryStatus.DEFERRED,
                Delivery.reason == REASON,
            )
            .values(status=DeliveryStatus.QUEUED, reason=None, variant=winner)
            .execution_options(synchronize_session=False)
        )
    )
    audit.record(
        session,
        actor,
        "campaign.ab_decided",
        "campaign",
        campaign.id,
        {
            "winner": variants.name(winner),
            "by": "clicks" if variant is None else "person",
            "released": released,
            "unique_clicks": {f.name: f.unique_clicks for f in seen},
        },
    )
    if campaign.status == CampaignStatus.SENDING:
        for batch_no in lifecycle.pending_batches(session, campaign.id):
            work.enqueue(session, SendBatch(campaign.id, batch_no, campaign.channel))
    return winner


def decide_when_due(runtime: Runtime, campaign_id: int) -> str:
    """The decision job: choose the winner by clicks if the wait is over and nobody chose; what it did."""
    with work.unit(runtime.Session, f"A/B decision of campaign {campaign_id}") as session:
        campaign = session.get(Campaign, campaign_id)
        test = pending(campaign) if campaign is not None else None
        if campaign is None or test is None:
            return "decided already"
        if test.decide_by != AbDecision.CLICKS or test.decide_at is None or test.decide_at > utcnow():
            return "not due"
        if campaign.status not in DECIDABLE:
            return f"campaign is {campaign.status}"
        try:
            winner = decide(session, campaign, SCHEDULER)
        except Conflict as exc:
            return exc.message
        return f"variant {variants.name(winner)} won"


def decide_due(session: Session, margin_seconds: int) -> list[int]:
    """The sweep's share: decide the tests whose wait ended over `margin_seconds` ago (their job was lost)."""
    cutoff = utcnow() - timedelta(seconds=margin_seconds)
    due = session.scalars(
        select(Campaign)
        .join(AbTest, AbTest.campaign_id == Campaign.id)
        .where(
            AbTest.winner.is_(None),
            AbTest.decide_by == AbDecision.CLICKS,
            AbTest.decide_at <= cutoff,
            Campaign.status.in_(DECIDABLE),
        )
    ).all()
    decided = []
    for campaign in due:
        try:
            decide(session, campaign, SCHEDULER)
        except Conflict:
            continue  # the job or a person decided it meanwhile: the sweep goes on with the others
        decided.append(campaign.id)
    return decided
