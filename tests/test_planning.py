"""Planning: one delivery per audience member, skipped ones with the gate's reason, in SQL."""

from __future__ import annotations

from sqlalchemy import select

from sender.channels.base import get_channel
from sender.db import utcnow
from sender.models import Delivery, ListMember
from sender.services.campaigns import planning
from tests.campaign_helpers import build_audience
from tests.factories import CampaignFactory, ListFactory


def test_plan_queues_eligible_and_explains_every_refusal(db_session):
    audience = build_audience(db_session, eligible=3)
    campaign = CampaignFactory(purpose_id=audience.purpose.id, lists=[audience.lst])

    chunk = planning.plan_chunk(
        db_session,
        campaign,
        [audience.lst.id],
        utcnow(),
        2,
        channel=get_channel(campaign.channel),
        after=0,
        limit=100,
        first_batch=0,
    )

    rows = {
        d.contact_id: d
        for d in db_session.scalars(select(Delivery).where(Delivery.campaign_id == campaign.id))
    }
    assert len(rows) == len(audience.contacts)
    for key, contact in audience.contacts.items():
        row = rows[contact.id]
        if key.startswith("eligible"):
            assert (row.status, row.reason) == ("queued", None)
        else:
            assert (row.status, row.reason) == ("skipped", key)
    assert chunk.batches == range(2)
    assert chunk.last_contact_id == max(c.id for c in audience.contacts.values())
    queued_batches = sorted(r.batch_no for r in rows.values() if r.status == "queued")
    assert queued_batches == [0, 0, 1]


def test_contact_on_two_lists_gets_one_delivery(db_session):
    audience = build_audience(db_session, eligible=1)
    second = ListFactory()
    contact = audience.contacts["eligible0"]
    db_session.add(ListMember(list_id=second.id, contact_id=contact.id))
    db_session.flush()
    campaign = CampaignFactory(purpose_id=audience.purpose.id, lists=[audience.lst, second])

    planning.plan_chunk(
        db_session,
        campaign,
        [audience.lst.id, second.id],
        utcnow(),
        500,
        channel=get_channel(campaign.channel),
        after=0,
        limit=100,
        first_batch=0,
    )

    count = db_session.scalars(
        select(Delivery).where(Delivery.campaign_id == campaign.id, Delivery.contact_id == contact.id)
    ).all()
    assert len(count) == 1


def test_preview_counts_match_plan_and_write_nothing(db_session):
    audience = build_audience(db_session, eligible=2)
    campaign = CampaignFactory(purpose_id=audience.purpose.id, lists=[audience.lst])

    counts = planning.preview(db_session, campaign, [audience.lst.id], utcnow())

    assert db_session.scalars(select(Delivery)).all() == []
    expected = {None: 2} | {k: 1 for k in audience.contacts if not k.startswith("eligible")}
    assert counts == expected


def test_chunks_continue_where_the_previous_one_stopped(db_session):
    audience = build_audience(db_session, eligible=5)
    campaign = CampaignFactory(purpose_id=audience.purpose.id, lists=[audience.lst])
    list_ids = [audience.lst.id]

    first = planning.plan_chunk(
        db_session,
        campaign,
        list_ids,
        utcnow(),
        2,
        channel=get_channel(campaign.channel),
        after=0,
        limit=3,
        first_batch=0,
    )
    assert planning.resume_point(db_session, campaign.id) == (first.last_contact_id, first.batches.stop)
    second = planning.plan_chunk(
        db_session,
        campaign,
        list_ids,
        utcnow(),
        2,
        channel=get_channel(campaign.channel),
        after=first.last_contact_id,
        limit=100,
        first_batch=first.batches.stop,
    )
    end = planning.plan_chunk(
        db_session,
        campaign,
        list_ids,
        utcnow(),
        2,
        channel=get_channel(campaign.channel),
        after=second.last_contact_id,
        limit=100,
        first_batch=second.batches.stop,
    )

    rows = db_session.scalars(select(Delivery).where(Delivery.campaign_id == campaign.id)).all()
    assert sorted(r.contact_id for r in rows) == sorted(c.id for c in audience.contacts.values())
    queued = [r for r in rows if r.status == "queued"]
    assert len(queued) == 5
    # Batches of a chunk follow those of the previous chunk; none holds more than the batch size.
    assert first.batches.stop == second.batches.start
    sizes = {b: sum(1 for r in queued if r.batch_no == b) for b in {r.batch_no for r in queued}}
    assert set(sizes) == set(first.batches) | set(second.batches) and max(sizes.values()) <= 2
    assert end.batches == range(second.batches.stop, second.batches.stop) and end.last_contact_id is None
