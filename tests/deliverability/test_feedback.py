"""The one service every door calls: each kind's effects, unknown and erased targets, and replays."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sender.config import Settings
from sender.db import utcnow
from sender.enums import ConsentStatus, DeliveryStatus, FeedbackKind, WithdrawalKind
from sender.models import (
    AuditEvent,
    Campaign,
    ConsentEvent,
    ConsentState,
    Contact,
    Delivery,
    DeliveryFeedback,
    Suppression,
)
from sender.services.deliverability import verp
from sender.services.deliverability.feedback import Feedback, Outcome, apply
from sender.services.records import honouring
from sender.services.rights import access, erasure
from tests.campaign_helpers import grant
from tests.factories import CampaignFactory, ContactFactory, PurposeFactory, WordingFactory


def _sent(
    session: Session, contact: Contact, *, days_ago: float = 0, campaign: Campaign | None = None
) -> Delivery:
    """A delivery the relay accepted `days_ago` days ago."""
    campaign = campaign or CampaignFactory(status="sent")
    at = utcnow() - timedelta(days=days_ago)
    delivery = Delivery(
        campaign_id=campaign.id, contact_id=contact.id, status=DeliveryStatus.SENT, sent_at=at, claimed_at=at
    )
    session.add(delivery)
    session.flush()
    return delivery


def _suppressions(session: Session, contact: Contact) -> list[str]:
    return list(
        session.scalars(select(Suppression.reason).where(Suppression.address_hash == contact.email_hash))
    )


def _feedback(kind: FeedbackKind, delivery_id: int | None, report_id: str, **kw: object) -> Feedback:
    return Feedback(
        kind=kind, report_id=report_id, source=str(kw.pop("source", "smtp")), delivery_id=delivery_id, **kw
    )  # type: ignore[arg-type]


def test_a_hard_bounce_marks_the_delivery_bounced_and_suppresses_the_address(
    db_session: Session, settings: Settings
) -> None:
    contact = ContactFactory()
    delivery = _sent(db_session, contact)

    outcome = apply(
        db_session, settings, _feedback(FeedbackKind.HARD_BOUNCE, delivery.id, "<r1@mx>", detail="5.1.1")
    )

    assert outcome == Outcome.APPLIED
    assert delivery.status == DeliveryStatus.BOUNCED
    assert _suppressions(db_session, contact) == ["hard_bounce"]
    row = db_session.scalar(select(DeliveryFeedback))
    assert row is not None
    assert (row.delivery_id, row.campaign_id, row.kind, row.sending_domain, row.detail) == (
        delivery.id,
        delivery.campaign_id,
        "hard_bounce",
        "exemple.test",
        "5.1.1",
    )
    assert "<r1@mx>" not in row.report_key
    audit = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "deliverability.hard_bounce"))
    assert audit is not None and contact.email not in str(audit.details)


def test_the_same_report_twice_through_two_doors_has_its_effect_once(
    db_session: Session, settings: Settings
) -> None:
    contact = ContactFactory()
    delivery = _sent(db_session, contact)
    first = apply(
        db_session, settings, _feedback(FeedbackKind.SOFT_BOUNCE, delivery.id, "<same@mx>", source="imap")
    )
    again = apply(
        db_session, settings, _feedback(FeedbackKind.SOFT_BOUNCE, delivery.id, "<same@mx>", source="smtp")
    )
    # Another report id for a delivery whose fate is known (a provider webhook beside the DSN).
    other = apply(
        db_session, settings, _feedback(FeedbackKind.SOFT_BOUNCE, delivery.id, "evt-9", source="ses")
    )

    assert (first, again, other) == (Outcome.APPLIED, Outcome.DUPLICATE, Outcome.DUPLICATE)
    assert db_session.scalar(select(func.count(DeliveryFeedback.id))) == 1


def test_soft_bounces_suppress_at_the_limit_unless_a_message_got_through_between(
    db_session: Session, settings: Settings
) -> None:
    assert settings.deliverability.soft_bounce_limit == 3
    steady, recovered = ContactFactory(), ContactFactory()
    for n, days_ago in enumerate((10, 6)):
        for contact in (steady, recovered):
            delivery = _sent(db_session, contact, days_ago=days_ago)
            apply(db_session, settings, _feedback(FeedbackKind.SOFT_BOUNCE, delivery.id, f"{contact.id}-{n}"))
    # The recovered address took a message since; the steady one did not.
    _sent(db_session, recovered, days_ago=4)
    assert _suppressions(db_session, steady) == []
    for contact in (steady, recovered):
        delivery = _sent(db_session, contact, days_ago=1)
        apply(db_session, settings, _feedback(FeedbackKind.SOFT_BOUNCE, delivery.id, f"{contact.id}-last"))

    assert _suppressions(db_session, steady) == ["soft_bounce"]
    assert _suppressions(db_session, recovered) == []


def test_soft_bounces_older_than_fifteen_days_do_not_count(db_session: Session, settings: Settings) -> None:
    contact = ContactFactory()
    for n in range(2):
        delivery = _sent(db_session, contact, days_ago=20)
        apply(db_session, settings, _feedback(FeedbackKind.SOFT_BOUNCE, delivery.id, f"old-{n}"))
    db_session.execute(
        DeliveryFeedback.__table__.update().values(received_at=utcnow() - timedelta(days=16))  # type: ignore[attr-defined]
    )
    delivery = _sent(db_session, contact, days_ago=1)
    apply(db_session, settings, _feedback(FeedbackKind.SOFT_BOUNCE, delivery.id, "new"))

    assert _suppressions(db_session, contact) == []


def test_a_complaint_withdraws_every_email_consent_with_proof_and_suppresses(
    db_session: Session, settings: Settings
) -> None:
    news, offers = PurposeFactory(), PurposeFactory()
    for purpose in (news, offers):
        WordingFactory(purpose=purpose)
    contact = ContactFactory(phone="+33612345678")
    for purpose in (news, offers):
        grant(db_session, contact, purpose)
    grant(db_session, contact, news, channel="sms")
    delivery = _sent(db_session, contact, campaign=CampaignFactory(purpose_id=news.id, status="sent"))

    outcome = apply(
        db_session, settings, _feedback(FeedbackKind.COMPLAINT, delivery.id, "arf-42", source="imap")
    )

    assert outcome == Outcome.APPLIED
    states = {
        (s.purpose_id, s.channel): s.status
        for s in db_session.scalars(select(ConsentState).where(ConsentState.contact_id == contact.id))
    }
    assert states == {
        (news.id, "email"): ConsentStatus.WITHDRAWN,
        (offers.id, "email"): ConsentStatus.WITHDRAWN,
        (news.id, "sms"): ConsentStatus.GRANTED,
    }
    events = db_session.scalars(
        select(ConsentEvent).where(ConsentEvent.contact_id == contact.id, ConsentEvent.action == "withdraw")
    ).all()
    assert {(e.source, e.mechanism, e.evidence["report_id"]) for e in events} == {
        ("complaint", "complaint", "arf-42")
    }
    assert _suppressions(db_session, contact) == ["complaint"]
    # The delivery itself reached the person: it stays sent.
    assert delivery.status == DeliveryStatus.SENT
    # Art. 15 report and proof of honouring show it.
    history = access.report(db_session, settings, contact)["consents"]
    assert any(entry.get("source") == "complaint" for entry in history)
    kinds = {w.kind for w in honouring.for_contact(db_session, contact)}
    assert kinds == {WithdrawalKind.COMPLAINT}


@pytest.mark.parametrize("target", ["unknown_delivery", "erased_contact", "unknown_address", "sms_delivery"])
def test_a_report_for_nothing_we_know_changes_nothing(
    db_session: Session, settings: Settings, target: str
) -> None:
    contact = ContactFactory()
    delivery = _sent(db_session, contact)
    feedback = _feedback(FeedbackKind.HARD_BOUNCE, delivery.id, "r")
    if target == "unknown_delivery":
        feedback = _feedback(FeedbackKind.HARD_BOUNCE, delivery.id + 1000, "r")
    elif target == "erased_contact":
        erasure.erase(db_session, settings, contact, actor="test", notify=False)
    elif target == "unknown_address":
        feedback = _feedback(FeedbackKind.COMPLAINT, None, "r", address="nobody@example.org")
    else:
        sms = _sent(db_session, ContactFactory(phone="+33612345670"), campaign=CampaignFactory(channel="sms"))
        feedback = _feedback(FeedbackKind.HARD_BOUNCE, sms.id, "r")
    suppressions = db_session.scalar(select(func.count(Suppression.id)))

    assert apply(db_session, settings, feedback) == Outcome.UNKNOWN
    assert db_session.scalar(select(func.count(DeliveryFeedback.id))) == 0
    assert db_session.scalar(select(func.count(Suppression.id))) == suppressions
    assert db_session.get(Delivery, delivery.id).status == DeliveryStatus.SENT  # type: ignore[union-attr]


def test_a_report_naming_only_an_address_finds_the_contact_by_keyed_hash(
    db_session: Session, settings: Settings
) -> None:
    contact = ContactFactory(email="camille@example.org")
    feedback = _feedback(
        FeedbackKind.HARD_BOUNCE, None, "evt-1", source="postmark", address=" Camille@Example.org "
    )

    assert apply(db_session, settings, feedback) == Outcome.APPLIED
    assert _suppressions(db_session, contact) == ["hard_bounce"]


def test_verp_addresses_name_their_delivery_and_refuse_forgeries(settings: Settings) -> None:
    with_domain = settings.with_overrides(
        deliverability=type(settings.deliverability)(bounce_domain="bounces.exemple.test")
    )
    assert verp.envelope_sender(settings, 7) is None
    address = verp.envelope_sender(with_domain, 123456789)
    assert address is not None
    local, _, domain = address.partition("@")
    assert domain == "bounces.exemple.test" and len(local) <= 64 and "123456789" not in local
    assert verp.delivery_of(with_domain, address) == 123456789
    assert verp.delivery_of(with_domain, f"<{address}>") == 123456789
    token = local.removeprefix("bounces+")
    forged = (
        f"bounces+{verp.token(with_domain, 1).split('.')[0]}.{token.split('.', 1)[1]}@bounces.exemple.test"
    )
    for bad in (
        forged,
        "bounces+abc.def@x.test",
        "news@exemple.test",
        "bounces+@x",
        "",
        address.replace(token[-1], "A" if token[-1] != "A" else "B"),
    ):
        assert verp.delivery_of(with_domain, bad) is None
