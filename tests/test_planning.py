"""Planning: one delivery per audience member, skipped ones with the gate's reason, in SQL."""

from __future__ import annotations

from sqlalchemy import select

from sender.db import utcnow
from sender.models import Delivery, ListMember
from sender.services import planning
from tests.campaign_helpers import build_audience
from tests.factories import CampaignFactory, ListFactory


def test_plan_queues_eligible_and_explains_every_refusal(db_session):
    audience = build_audience(db_session, eligible=3)
    campaign = CampaignFactory(purpose_id=audience.purpose.id, lists=[audience.lst])

    batches = planning.plan(db_session, campaign, [audience.lst.id], utcnow(), batch_size=2)

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
    assert batches == 2
    queued_batches = sorted(r.batch_no for r in rows.values() if r.status == "queued")
    assert queued_batches == [0, 0, 1]


def test_contact_on_two_lists_gets_one_delivery(db_session):
    audience = build_audience(db_session, eligible=1)
    second = ListFactory()
    contact = audience.contacts["eligible0"]
    db_session.add(ListMember(list_id=second.id, contact_id=contact.id))
    db_session.flush()
    campaign = CampaignFactory(purpose_id=audience.purpose.id, lists=[audience.lst, second])

    planning.plan(db_session, campaign, [audience.lst.id, second.id], utcnow(), batch_size=500)

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
