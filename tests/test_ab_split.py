"""An A/B test's split at planning: each variant's share queued in batches of its own, the rest waiting for
the winner, the gate's refusals skipped as for any campaign, and the same people in the same share however
the audience is cut into chunks."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import delete, select

from sender.channels.base import get_channel
from sender.db import utcnow
from sender.models import AbTest, CampaignVariant, Delivery
from sender.services.campaigns import ab_tests, planning
from tests.campaign_helpers import build_audience
from tests.factories import CampaignFactory

PEOPLE = 2_000


def _plan(session, campaign, list_id, limit, batch_size=50):
    """Plan the whole audience in chunks of `limit`, as rollout does; the batches each chunk would send."""
    after, first_batch, sent_now = 0, 0, []
    while True:
        chunk = planning.plan_chunk(
            session,
            campaign,
            [list_id],
            utcnow(),
            batch_size,
            channel=get_channel(campaign.channel),
            after=after,
            limit=limit,
            first_batch=first_batch,
        )
        if chunk.last_contact_id is None:
            return sent_now
        sent_now += list(chunk.batches)
        after, first_batch = chunk.last_contact_id, chunk.next_batch


def _tested(session, campaign, percent=10, variants=2):
    campaign.ab_test = AbTest(
        test_percent=percent,
        wait_minutes=60,
        decide_by="manual",
        variants=[CampaignVariant(position=n, subject=f"Variant {n}") for n in range(1, variants + 1)],
    )
    session.flush()
    return campaign


def test_each_variant_gets_its_share_in_batches_of_its_own_and_the_rest_waits(db_session):
    audience = build_audience(db_session, eligible=PEOPLE)
    campaign = _tested(db_session, CampaignFactory(purpose_id=audience.purpose.id, lists=[audience.lst]))

    sent_now = _plan(db_session, campaign, audience.lst.id, limit=700)

    rows = db_session.scalars(select(Delivery).where(Delivery.campaign_id == campaign.id)).all()
    by_class = Counter((d.status, d.reason, d.variant) for d in rows)
    # Three contents (A, B, C) of 10 % each, 70 % waiting; the gate's refusals are skipped as always.
    for variant in (0, 1, 2):
        assert 0.08 * PEOPLE <= by_class[("queued", None, variant)] <= 0.12 * PEOPLE
    assert 0.66 * PEOPLE <= by_class[("deferred", "ab_test", None)] <= 0.74 * PEOPLE
    assert (
        sum(n for (status, _, _), n in by_class.items() if status == "skipped")
        == len(audience.contacts) - PEOPLE
    )
    # A batch holds one variant (its renderer renders one content); the batches sent now hold no waiting row.
    per_batch: dict[int, set[object]] = {}
    for d in rows:
        if d.status != "skipped":
            per_batch.setdefault(d.batch_no, set()).add((d.status, d.variant))
    assert all(len(kinds) == 1 for kinds in per_batch.values())
    queued_batches = {b for b, kinds in per_batch.items() if ("deferred", None) not in kinds}
    assert set(sent_now) == queued_batches
    assert ab_tests.batch_variant(db_session, campaign, min(queued_batches)) is not None


def test_the_split_does_not_depend_on_how_the_audience_is_chunked(db_session):
    audience = build_audience(db_session, eligible=600)
    campaign = _tested(db_session, CampaignFactory(purpose_id=audience.purpose.id, lists=[audience.lst]))

    def planned(limit):
        _plan(db_session, campaign, audience.lst.id, limit=limit)
        rows = db_session.scalars(select(Delivery).where(Delivery.campaign_id == campaign.id)).all()
        found = {d.contact_id: (d.status, d.variant) for d in rows}
        db_session.execute(delete(Delivery).where(Delivery.campaign_id == campaign.id))
        return found

    assert planned(1_000) == planned(97)


def test_a_decided_test_plans_everyone_with_the_winner(db_session):
    audience = build_audience(db_session, eligible=300)
    campaign = _tested(db_session, CampaignFactory(purpose_id=audience.purpose.id, lists=[audience.lst]))
    campaign.ab_test.winner = 2
    db_session.flush()

    sent_now = _plan(db_session, campaign, audience.lst.id, limit=1_000)

    rows = db_session.scalars(
        select(Delivery).where(Delivery.campaign_id == campaign.id, Delivery.status != "skipped")
    ).all()
    assert {(d.status, d.variant) for d in rows} == {("queued", 2)}
    assert len(rows) == 300 and sent_now == list(range(6))
