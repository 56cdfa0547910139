"""Proof of honouring (R77) when an opt-out races a send, built with real commits: a message claimed before
the withdrawal is named in flight, the claim after it skips the person, and a message that left claimed
after the withdrawal is listed as an exception, per contact and for the organisation."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from sender import work
from sender.db import utcnow
from sender.enums import AfterWithdrawal, DeliveryStatus, WithdrawalKind
from sender.models import Campaign, Contact, Delivery, Purpose
from sender.runtime import Runtime
from sender.services.campaigns import delivery
from sender.services.consent import ledger
from sender.services.records import honouring
from tests import factories
from tests.campaign_helpers import grant
from tests.factories import ContactFactory, PurposeFactory, WordingFactory


def _queued(runtime: Runtime, purpose_id: int, contact_id: int) -> int:
    with work.unit(runtime.Session, "test") as session:
        campaign = Campaign(
            name="News",
            purpose_id=purpose_id,
            channel="email",
            kind="marketing",
            status="sending",
            subject="s",
            body_text="b",
            body_html="",
        )
        session.add(campaign)
        session.flush()
        session.add(Delivery(campaign_id=campaign.id, contact_id=contact_id, status=DeliveryStatus.QUEUED))
        return campaign.id


def _claim(runtime: Runtime, campaign_id: int) -> tuple[int, dict[str, int]]:
    """The worker's claim of the campaign's batch, committed before anything is sent."""
    with work.unit(runtime.Session, "test claim") as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        claimed, skipped = delivery.claim(session, campaign, 0, "token", 10)
        return len(claimed), skipped


def _relay_accepts(runtime: Runtime, campaign_id: int) -> None:
    """The relay's answer comes back: the message is recorded sent, now."""
    with work.unit(runtime.Session, "test outcome") as session:
        session.execute(
            update(Delivery)
            .where(Delivery.campaign_id == campaign_id)
            .values(status=DeliveryStatus.SENT, sent_at=utcnow())
        )


def test_an_opt_out_racing_a_send_is_honoured_and_the_report_says_so(committed: Runtime) -> None:
    with work.unit(committed.Session, "setup") as session:
        factories.bind(session)
        purpose = PurposeFactory()
        WordingFactory(purpose=purpose)
        contact = ContactFactory()
        grant(session, contact, purpose)
        purpose_id, contact_id, public_id = purpose.id, contact.id, contact.public_id
    racing = _queued(committed, purpose_id, contact_id)
    later = _queued(committed, purpose_id, contact_id)

    # The worker claims the message (consent re-checked: granted), then the person clicks unsubscribe.
    assert _claim(committed, racing) == (1, {})
    with work.unit(committed.Session, "one-click") as session:
        person, why = session.get(Contact, contact_id), session.get(Purpose, purpose_id)
        assert person is not None and why is not None
        ledger.record(
            session,
            person,
            why,
            channel="email",
            action="withdraw",
            source="one_click",
            mechanism="one_click",
            actor="contact",
        )
    # The relay then accepts the message claimed before: it was in flight.
    _relay_accepts(committed, racing)
    # The next claim re-checks consent and skips the person.
    assert _claim(committed, later) == (0, {"withdrawn": 1})

    with committed.Session() as session:
        person = session.get(Contact, contact_id)
        assert person is not None
        (withdrawal,) = honouring.for_contact(session, person)
        assert withdrawal.kind == WithdrawalKind.OPT_OUT and withdrawal.channel == "email"
        assert [(m.campaign_id, m.verdict) for m in withdrawal.messages_after] == [
            (racing, AfterWithdrawal.IN_FLIGHT)
        ]
        assert withdrawal.exceptions == []
        period = honouring.for_period(session, utcnow() - timedelta(hours=1), utcnow() + timedelta(hours=1))
        assert (period.withdrawals, period.in_flight, period.exceptions) == (1, 1, [])

    # A message claimed after the withdrawal that left anyway (a send path that skipped the re-check):
    # the report must list it as an exception.
    rogue = _queued(committed, purpose_id, contact_id)
    with work.unit(committed.Session, "a faulty sender") as session:
        now = utcnow()
        session.execute(
            update(Delivery)
            .where(Delivery.campaign_id == rogue)
            .values(status=DeliveryStatus.SENT, claimed_at=now, sent_at=now)
        )
    with work.unit(committed.Session, "report") as session:
        person = session.get(Contact, contact_id)
        assert person is not None
        (withdrawal,) = honouring.for_contact(session, person)
        assert [(m.campaign_id, m.verdict) for m in withdrawal.messages_after] == [
            (racing, AfterWithdrawal.IN_FLIGHT),
            (rogue, AfterWithdrawal.EXCEPTION),
        ]
        period = honouring.for_period(session, utcnow() - timedelta(hours=1), utcnow() + timedelta(hours=1))
        assert [(m.contact, m.campaign_id) for m in period.exceptions] == [(public_id, rogue)]
        report = honouring.contact_report(session, person, "user:1", "json")
        assert report["exceptions"] == 1
        assert [m["verdict"] for m in report["withdrawals"][0]["marketing_after"]] == [
            "in_flight",
            "exception",
        ]


def test_marketing_after_consent_given_again_is_no_exception(committed: Runtime) -> None:
    with work.unit(committed.Session, "setup") as session:
        factories.bind(session)
        purpose = PurposeFactory()
        WordingFactory(purpose=purpose)
        contact = ContactFactory()
        grant(session, contact, purpose)
        ledger.record(
            session,
            contact,
            purpose,
            channel="email",
            action="withdraw",
            source="sms_keyword",
            mechanism="sms_keyword",
            actor="contact",
            at=utcnow() - timedelta(minutes=2),
        )
        grant(session, contact, purpose, at=utcnow() - timedelta(minutes=1))
        purpose_id, contact_id = purpose.id, contact.id
    campaign_id = _queued(committed, purpose_id, contact_id)
    assert _claim(committed, campaign_id) == (1, {})
    _relay_accepts(committed, campaign_id)
    with committed.Session() as session:
        person = session.get(Contact, contact_id)
        assert person is not None
        (withdrawal,) = honouring.for_contact(session, person)
        assert withdrawal.kind == WithdrawalKind.STOP and withdrawal.messages_after == []
