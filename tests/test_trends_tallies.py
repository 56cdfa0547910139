"""The charts' figures read from the summary counts (messages sent, consents) equal a recount of the rows after
a real campaign through the worker and an SMTP server, a withdrawal through its link and an erasure, with the
sending moved to the edges of the hourly span, before and after the tallies are folded."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from sender.db import utcnow
from sender.models import Campaign, ConsentEvent, Contact, Delivery, DeliveryTally, ListMember, Purpose
from sender.services.campaigns import launch, lifecycle, tallies
from sender.services.consent import withdrawal
from sender.services.records import trends
from sender.services.rights import erasure
from tests.campaign_helpers import grant
from tests.factories import CampaignFactory, ContactFactory, ListFactory, PurposeFactory, WordingFactory
from tests.queues import QueuedRuntime
from tests.smtp_server import Reply, SmtpTestServer


def _over_time_by_rows(session: Session, campaign_id: int) -> tuple[str, list[tuple[datetime, int]]]:
    moments = session.scalars(
        select(Delivery.sent_at).where(Delivery.campaign_id == campaign_id, Delivery.sent_at.is_not(None))
    ).all()
    if not moments:
        return "day", []
    hourly = max(moments) - min(moments) <= trends.HOURLY_SPAN
    step = timedelta(hours=1) if hourly else timedelta(days=1)
    counted = Counter(
        tallies.hour_of(at) if hourly else datetime.combine(at.date(), datetime.min.time()) for at in moments
    )
    points, at = [], min(counted)
    while at <= max(counted):
        points.append((at, counted[at]))
        at += step
    return ("hour" if hourly else "day"), points


def _per_day_by_rows(session: Session, now: datetime) -> list[int]:
    counted = Counter(at.date() for at in session.scalars(select(Delivery.sent_at)) if at is not None)
    return [counted[day] for day in trends.days_ending(now, 30)]


def _per_week_by_rows(session: Session, now: datetime) -> list[trends.Weekly]:
    mondays = trends.weeks_ending(now, 12)
    counted: Counter[tuple[str, str, date]] = Counter()
    for name, action, at in session.execute(
        select(Purpose.name, ConsentEvent.action, ConsentEvent.occurred_at).join(
            Purpose, Purpose.id == ConsentEvent.purpose_id
        )
    ):
        if action in trends.MOVEMENTS and trends.monday(at.date()) in mondays:
            counted[(name, action, trends.monday(at.date()))] += 1
    names = sorted({name for name, _, _ in counted})
    return [
        trends.Weekly(
            name,
            tuple(counted[(name, "grant", m)] for m in mondays),
            tuple(counted[(name, "withdraw", m)] for m in mondays),
        )
        for name in names
    ]


def _agree(session: Session, campaign_id: int) -> tuple[str, list[tuple[datetime, int]]]:
    """Every figure switched to the tallies equals the rows' recount; return the campaign's over time."""
    session.expire_all()
    now = utcnow()
    over_time = trends.sent_over_time(session, campaign_id)
    assert over_time == _over_time_by_rows(session, campaign_id)
    assert trends.sent_per_day(session, now)[1] == _per_day_by_rows(session, now)
    sent = Counter(session.scalars(select(Delivery.campaign_id).where(Delivery.sent_at.is_not(None))).all())
    assert {r.campaign_id: r.sent for r in trends.unsubscribe_rates(session)} == {
        cid: sent[cid]
        for cid in session.scalars(select(Campaign.id).where(Campaign.launched_at.is_not(None)))
    }
    assert trends.consents_per_week(session, now)[1] == _per_week_by_rows(session, now)
    return over_time


def test_the_charts_figures_from_the_tallies_equal_a_recount_of_the_rows_before_and_after_a_fold(
    db_session: Session, wired: QueuedRuntime, mail: SmtpTestServer
) -> None:
    purpose = PurposeFactory(slug="news", name="News")
    WordingFactory(purpose=purpose)
    lst = ListFactory()
    people = [ContactFactory() for _ in range(8)]
    for person in people[:6]:  # two never consented: planned as skipped, never sent
        grant(db_session, person, purpose)
    for person in people:
        db_session.add(ListMember(list_id=lst.id, contact_id=person.id))
    campaign = CampaignFactory(purpose_id=purpose.id, lists=[lst])
    db_session.commit()
    launch.send(db_session, wired.settings, campaign.id, "user:1", now=True)
    db_session.commit()
    assert _agree(db_session, campaign.id) == ("day", [])

    # The first message is refused for good by the relay: a failure, never sent.
    mail.script([Reply("550 5.1.1 no such mailbox", at="rcpt")])
    batches = lifecycle.pending_batches(db_session, campaign.id)
    launch.run_batch(wired, campaign.id, batches[0])
    _agree(db_session, campaign.id)

    # One reader withdraws through the campaign's link, another is erased (their consent events go too).
    readers = db_session.scalars(
        select(Delivery.contact_id).where(Delivery.campaign_id == campaign.id, Delivery.sent_at.is_not(None))
    ).all()
    withdrawal.withdraw(
        db_session,
        db_session.get_one(Contact, readers[0]),
        purpose,
        "email",
        source="unsubscribe_page",
        mechanism="link",
        campaign_id=campaign.id,
    )
    erasure.erase(
        db_session, wired.settings, db_session.get_one(Contact, readers[1]), actor="admin", notify=False
    )
    db_session.commit()
    _agree(db_session, campaign.id)
    for batch in lifecycle.pending_batches(db_session, campaign.id):
        launch.run_batch(wired, campaign.id, batch)
    unit, points = _agree(db_session, campaign.id)
    sent = sum(n for _, n in points)
    assert unit == "hour" and sent == 5  # six consented, the one refused at RCPT never left

    # The sending moved to first and last hours exactly two days apart: the minutes decide the unit.
    sent_ids = db_session.scalars(
        select(Delivery.id)
        .where(Delivery.campaign_id == campaign.id, Delivery.sent_at.is_not(None))
        .order_by(Delivery.id)
    ).all()
    start = tallies.hour_of(utcnow()) - timedelta(days=5)

    def move(first: int, last: int) -> None:
        last_one = len(sent_ids) - 1
        for n, delivery_id in enumerate(sent_ids):
            minute = first if n == 0 else last if n == last_one else 30
            at = start + timedelta(hours=48 if n == last_one else n, minutes=minute)
            db_session.execute(update(Delivery).where(Delivery.id == delivery_id).values(sent_at=at))
        db_session.commit()

    move(10, 20)  # two days and ten minutes
    assert _agree(db_session, campaign.id)[0] == "day"
    move(20, 10)  # two days less ten minutes
    assert _agree(db_session, campaign.id)[0] == "hour"

    # Folded: one tally per key, the keys summing to 0 (the hours the sending moved out of) gone.
    assert tallies.fold(db_session) > 0
    db_session.commit()
    assert db_session.scalar(select(func.count()).select_from(DeliveryTally)) == len(tallies.live(db_session))
    unit, points = _agree(db_session, campaign.id)
    assert unit == "hour" and len(points) == 49 and sum(n for _, n in points) == sent
