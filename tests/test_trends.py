"""The figures over time behind the charts, on both backends: buckets, weeks, erased contacts, withdrawals."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from sender.enums import ContactStatus
from sender.models import Delivery
from sender.services.consent import withdrawal
from sender.services.records import trends
from tests.campaign_helpers import grant
from tests.factories import CampaignFactory, ContactFactory, PurposeFactory, WordingFactory

NOW = datetime(2026, 12, 5, 15, 30)  # a Saturday


def _sent(session: Session, campaign_id: int, *moments: datetime) -> None:
    for at in moments:
        contact = ContactFactory()
        session.add(Delivery(campaign_id=campaign_id, contact_id=contact.id, status="sent", sent_at=at))
    session.flush()


def test_a_short_send_is_drawn_by_the_hour_with_empty_hours_at_zero(db_session: Session) -> None:
    campaign = CampaignFactory(status="sent")
    _sent(db_session, campaign.id, NOW, NOW + timedelta(minutes=10), NOW + timedelta(hours=2))
    unit, points = trends.sent_over_time(db_session, campaign.id)
    assert unit == "hour"
    assert points == [
        (datetime(2026, 12, 5, 15), 2),
        (datetime(2026, 12, 5, 16), 0),
        (datetime(2026, 12, 5, 17), 1),
    ]


def test_a_long_send_is_drawn_by_the_day(db_session: Session) -> None:
    campaign = CampaignFactory(status="sent")
    _sent(db_session, campaign.id, NOW - timedelta(days=3), NOW)
    unit, points = trends.sent_over_time(db_session, campaign.id)
    assert unit == "day"
    assert [n for _, n in points] == [1, 0, 0, 1]
    assert trends.sent_over_time(db_session, CampaignFactory().id) == ("day", [])


def test_consents_fold_into_weeks_and_withdrawals_count_against_their_campaign(db_session: Session) -> None:
    purpose = PurposeFactory(name="Letters")
    WordingFactory(purpose=purpose)
    campaign = CampaignFactory(purpose_id=purpose.id, status="sent", launched_at=NOW - timedelta(days=1))
    readers = [ContactFactory() for _ in range(3)]
    grant(db_session, readers[0], purpose, at=NOW - timedelta(days=8))  # the week before
    for reader in readers[1:]:
        grant(db_session, reader, purpose, at=NOW - timedelta(days=1))
    _sent(db_session, campaign.id, NOW, NOW, NOW, NOW)
    withdrawal.withdraw(
        db_session,
        readers[1],
        purpose,
        "email",
        source="unsubscribe_page",
        mechanism="link",
        campaign_id=campaign.id,
    )
    db_session.flush()
    mondays, weekly = trends.consents_per_week(db_session, NOW + timedelta(minutes=1), weeks=2)
    assert mondays == [datetime(2026, 11, 23).date(), datetime(2026, 11, 30).date()]
    assert weekly == [trends.Weekly("Letters", (1, 2), (0, 1))]
    assert trends.reactions(db_session, campaign.id).unsubscribes == 1
    [rate] = [r for r in trends.unsubscribe_rates(db_session) if r.campaign_id == campaign.id]
    assert (rate.sent, rate.unsubscribes, rate.percent) == (4, 1, 25.0)


def test_audience_growth_leaves_erased_contacts_off_file(db_session: Session) -> None:
    _, before = trends.audience_growth(db_session, NOW, weeks=2)
    ContactFactory(created_at=NOW - timedelta(days=1))
    ContactFactory(created_at=NOW - timedelta(days=1), status=ContactStatus.ERASED)
    ContactFactory(created_at=NOW - timedelta(days=9))
    db_session.flush()
    _, after = trends.audience_growth(db_session, NOW, weeks=2)
    assert [a - b for a, b in zip(after.added, before.added, strict=True)] == [1, 2]
    assert [a - b for a, b in zip(after.on_file, before.on_file, strict=True)] == [1, 2]
