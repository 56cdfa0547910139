"""The summary counts (delivery_tallies, kept by the database's triggers) equal a recount of the delivery rows
after each writer has had its turn: planning, the batch job sending through a real SMTP server, a withdrawal,
an erasure, compaction and its fold; the reports read from them never change under compaction. So do the
lists' sizes (list_tallies) after an erasure and an import."""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sender.db import utcnow
from sender.models import Campaign, ConsentEvent, ConsentTally, Delivery, DeliveryTally, ListMember
from sender.services.audience import lists
from sender.services.campaigns import audience_estimate, compaction, launch, lifecycle, planning, tallies
from sender.services.consent import ledger
from sender.services.deliverability import rates
from sender.services.rights import erasure
from tests import import_helpers
from tests.campaign_helpers import grant
from tests.factories import CampaignFactory, ContactFactory, ListFactory, PurposeFactory, WordingFactory
from tests.import_helpers import csv_bytes, proof
from tests.queues import QueuedRuntime
from tests.smtp_server import Reply, SmtpTestServer


def _agree(session: Session) -> Counter[tallies.Key]:
    """The tallies' counts equal the rows' recount, and so do the consent events'; return the deliveries'."""
    session.expire_all()
    counted = tallies.live(session)
    assert counted == tallies.recount(session)
    events: Counter[tuple[int, str, str, datetime]] = Counter()
    for row in session.execute(
        select(ConsentEvent.purpose_id, ConsentEvent.channel, ConsentEvent.action, ConsentEvent.occurred_at)
    ):
        events[(row[0], row[1], row[2], tallies.hour_of(row[3]))] += 1
    kept: Counter[tuple[int, str, str, datetime]] = Counter()
    for row in session.execute(
        select(
            ConsentTally.purpose_id,
            ConsentTally.channel,
            ConsentTally.action,
            ConsentTally.hour,
            ConsentTally.delta,
        )
    ):
        kept[(row[0], row[1], row[2], row[3])] += row[4]
    assert +kept == events
    return counted


def _lists_agree(session: Session) -> dict[int, int]:
    """The lists' sizes from their tallies equal a count of their members; return them."""
    rows = session.execute(select(ListMember.list_id, func.count()).group_by(ListMember.list_id)).all()
    sizes = lists.sizes(session)
    assert {k: v for k, v in sizes.items() if v} == dict(rows)
    return sizes


def _report_by_rows(session: Session, campaign_id: int) -> dict[str, int]:
    rows = session.execute(
        select(Delivery.status, func.count())
        .where(Delivery.campaign_id == campaign_id)
        .group_by(Delivery.status)
    ).all()
    return dict(sorted((status, count) for status, count in rows))


def test_counts_equal_a_recount_through_a_campaign_a_withdrawal_an_erasure_and_compaction(
    db_session: Session, wired: QueuedRuntime, mail: SmtpTestServer
) -> None:
    purpose = PurposeFactory(slug="news")
    WordingFactory(purpose=purpose)
    lst = ListFactory()
    people = [ContactFactory() for _ in range(8)]
    for person in people[:6]:  # two never consented: planned as skipped
        grant(db_session, person, purpose)
    for person in people:
        db_session.add(ListMember(list_id=lst.id, contact_id=person.id))
    campaign = CampaignFactory(purpose_id=purpose.id, lists=[lst])
    db_session.commit()
    other = CampaignFactory(purpose_id=purpose.id, lists=[lst])  # planned, then cancelled
    db_session.commit()

    launch.send(db_session, wired.settings, campaign.id, "user:1", now=True)
    launch.send(db_session, wired.settings, other.id, "user:1", now=True)
    db_session.commit()
    assert _agree(db_session)
    lifecycle.cancel(db_session, db_session.get(Campaign, other.id), "user:1")
    db_session.commit()
    _agree(db_session)

    # The first message is refused for good by the relay: a failure among the sent.
    mail.script([Reply("550 5.1.1 no such mailbox", at="rcpt")])
    batches = lifecycle.pending_batches(db_session, campaign.id)
    launch.run_batch(wired, campaign.id, batches[0])
    _agree(db_session)

    # Before the next batches: one person withdraws, another is erased (their queued rows are skipped).
    later = db_session.scalars(
        select(Delivery.contact_id).where(Delivery.campaign_id == campaign.id, Delivery.status == "queued")
    ).all()
    withdrawn, erased = (db_session.get(type(people[0]), cid) for cid in later[:2])
    ledger.record(
        db_session, withdrawn, purpose, channel="email", action="withdraw", source="one_click",
        mechanism="one_click", actor="contact",
    )  # fmt: skip
    erasure.erase(db_session, wired.settings, erased, actor="admin", notify=False)
    db_session.commit()
    _agree(db_session)
    assert _lists_agree(db_session)[lst.id] == 7  # the erased person left the list
    for batch in lifecycle.pending_batches(db_session, campaign.id):
        launch.run_batch(wired, campaign.id, batch)
    _agree(db_session)

    report = lifecycle.report_for(db_session, campaign.id)
    assert report.by_status == _report_by_rows(db_session, campaign.id)
    assert report.by_status["sent"] == 3 and report.by_status["failed"] == 1
    assert report.skipped == {"erased": 1, "no_consent": 2, "withdrawn": 1}
    assert rates.campaigns_total(db_session, [campaign.id])[campaign.id].sent == 3

    # An import adds two people to the list (one already there is not counted twice).
    csv = csv_bytes("email", "new1@example.org", "new2@example.org", str(people[0].email))
    import_helpers.run(db_session, wired.settings, csv, "commit", {**proof(purpose), "list": lst.id})
    assert _lists_agree(db_session)[lst.id] == 9

    # Compaction deletes old rows (those of the person who withdrew stay, as proof) and counts them apart:
    # the live counts still equal the rows, and the reports do not move.
    done = compaction.compact(db_session, 0, utcnow() + timedelta(days=1), commit=lambda: True)
    db_session.commit()
    assert done.compacted > 0 and done.tallies_folded > 0
    _agree(db_session)
    assert lifecycle.report_for(db_session, campaign.id) == report
    # Folded: one tally per key left.
    keys = db_session.execute(
        select(func.count()).select_from(
            select(
                DeliveryTally.campaign_id, DeliveryTally.status, DeliveryTally.reason, DeliveryTally.sent_hour
            )
            .distinct()
            .subquery()
        )
    ).scalar()
    assert db_session.scalar(select(func.count()).select_from(DeliveryTally)) == keys


def test_a_large_audience_is_estimated_from_runs_of_contacts_with_a_margin_and_a_small_one_counted(
    db_session: Session,
) -> None:
    purpose = PurposeFactory(slug="news")
    WordingFactory(purpose=purpose)
    lst = ListFactory()
    people = [ContactFactory() for _ in range(400)]
    for n, person in enumerate(people):
        if n % 2 == 0:  # every other one consented
            grant(db_session, person, purpose)
        db_session.add(ListMember(list_id=lst.id, contact_id=person.id))
    campaign = CampaignFactory(purpose_id=purpose.id, lists=[lst])
    db_session.commit()
    exact = planning.preview(db_session, campaign, [lst.id], utcnow())
    assert exact == {None: 200, "no_consent": 200}

    small = audience_estimate.preview(db_session, campaign, utcnow())
    assert (small.counts, small.sample) == (exact, 0)

    estimated = audience_estimate.preview(
        db_session, campaign, utcnow(), random.Random(7), exact_up_to=100, runs=10, run=10
    )
    assert estimated.sample == 100
    assert set(estimated.counts) == set(exact)
    for reason, count in estimated.counts.items():
        # Alternating consent: every run of 10 holds 5 of each, so the estimate is exact and its margin 0.
        assert count == exact[reason] and estimated.margins[reason] == 0
