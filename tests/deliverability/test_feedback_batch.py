"""A batch of reports ends where applying them one by one, in order, ends: duplicates, replays, mixed kinds.

Each scenario is played twice on two look-alike audiences (same contacts, consents and deliveries, made
in the same shape): one by one through `apply`, and as one batch through `apply_many`. The end states,
read back per contact, and the outcomes must be the same.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, event, select
from sqlalchemy.orm import Session

from sender.config import Settings
from sender.db import utcnow
from sender.enums import DeliveryStatus, FeedbackKind
from sender.models import (
    AuditEvent,
    Campaign,
    ConsentEvent,
    ConsentState,
    Contact,
    Delivery,
    DeliveryFeedback,
    Purpose,
    Suppression,
)
from sender.services.deliverability.feedback import Feedback, Outcome, apply, apply_many
from tests.campaign_helpers import grant
from tests.factories import CampaignFactory, ContactFactory, PurposeFactory, WordingFactory

HARD, SOFT, COMPLAINT = FeedbackKind.HARD_BOUNCE, FeedbackKind.SOFT_BOUNCE, FeedbackKind.COMPLAINT


@dataclass
class Audience:
    """Four contacts consenting to two purposes on email; each got the four campaigns, sent days apart."""

    contacts: list[Contact]
    deliveries: list[list[Delivery]]
    purposes: list[Purpose]
    campaigns: list[Campaign]


def _audience(session: Session) -> Audience:
    purposes = [PurposeFactory(), PurposeFactory()]
    for purpose in purposes:
        WordingFactory(purpose=purpose)
    campaigns = [CampaignFactory(purpose_id=purposes[0].id, status="sent") for _ in range(4)]
    contacts, deliveries = [], []
    for _ in range(4):
        contact = ContactFactory()
        for purpose in purposes:
            grant(session, contact, purpose)
        sent = []
        for campaign, days_ago in zip(campaigns, (5, 4, 3, 2), strict=True):
            at = utcnow() - timedelta(days=days_ago)
            delivery = Delivery(
                campaign_id=campaign.id,
                contact_id=contact.id,
                status=DeliveryStatus.SENT,
                sent_at=at,
                claimed_at=at,
            )
            session.add(delivery)
            sent.append(delivery)
        contacts.append(contact)
        deliveries.append(sent)
    session.flush()
    return Audience(contacts, deliveries, purposes, campaigns)


# A report as a scenario writes it: kind, contact number, delivery number (None: by address), report id.
Step = tuple[FeedbackKind, int, int | None, str]


def _reports(audience: Audience, steps: list[Step], prefix: str) -> list[Feedback]:
    reports = []
    for kind, contact, delivery, report_id in steps:
        person = audience.contacts[contact]
        reports.append(
            Feedback(
                kind=kind,
                report_id=f"{prefix}{report_id}",
                source="sendgrid",
                delivery_id=audience.deliveries[contact][delivery].id if delivery is not None else None,
                address=person.email if delivery is None else None,
                detail="5.1.1",
            )
        )
    return reports


def _state(session: Session, audience: Audience) -> list[dict[str, Any]]:
    """What the reports left, per contact, in terms that do not depend on ids or on the audience."""
    session.flush()
    purposes = {p.id: n for n, p in enumerate(audience.purposes)}
    campaigns = {f"campaign:{c.id}": n for n, c in enumerate(audience.campaigns)}
    out = []
    for contact, deliveries in zip(audience.contacts, audience.deliveries, strict=True):
        numbers = {d.id: n for n, d in enumerate(deliveries)}
        statuses = {
            numbers[i]: s
            for i, s in session.execute(
                select(Delivery.id, Delivery.status).where(Delivery.id.in_(numbers))
            ).all()
        }
        feedback = sorted(
            (numbers.get(d) if d is not None else None, k, s)
            for d, k, s in session.execute(
                select(DeliveryFeedback.delivery_id, DeliveryFeedback.kind, DeliveryFeedback.source).where(
                    DeliveryFeedback.contact_id == contact.id
                )
            ).all()
        )
        consents = sorted(
            (purposes[p], c, s)
            for p, c, s in session.execute(
                select(ConsentState.purpose_id, ConsentState.channel, ConsentState.status).where(
                    ConsentState.contact_id == contact.id
                )
            ).all()
        )
        withdrawals = sorted(
            (purposes[p], src, mech, ev.get("report_id", "")[1:], campaigns.get(cp or ""))
            for p, src, mech, ev, cp in session.execute(
                select(
                    ConsentEvent.purpose_id,
                    ConsentEvent.source,
                    ConsentEvent.mechanism,
                    ConsentEvent.evidence,
                    ConsentEvent.collection_point,
                ).where(ConsentEvent.contact_id == contact.id, ConsentEvent.action == "withdraw")
            ).all()
        )
        suppressions = list(
            session.scalars(select(Suppression.reason).where(Suppression.address_hash == contact.email_hash))
        )
        audit = Counter(
            session.scalars(
                select(AuditEvent.action).where(
                    AuditEvent.subject_type == "contact", AuditEvent.subject_id == contact.public_id
                )
            )
        )
        out.append(
            {
                "statuses": statuses,
                "feedback": feedback,
                "consents": consents,
                "withdrawals": withdrawals,
                "suppressions": suppressions,
                "audit": dict(audit),
            }
        )
    return out


def _compare(
    session: Session,
    settings: Settings,
    steps: list[Step],
    then: Callable[[Audience, Callable[[list[Feedback]], list[Outcome]]], list[Outcome]] | None = None,
) -> tuple[list[Outcome], list[dict[str, Any]]]:
    """Play `steps` one by one on one audience and as one batch on another; both give the same end state."""
    one_by_one, batched = _audience(session), _audience(session)

    def sequential(reports: list[Feedback]) -> list[Outcome]:
        return [apply(session, settings, report) for report in reports]

    def batch(reports: list[Feedback]) -> list[Outcome]:
        return apply_many(session, settings, reports)

    expected = sequential(_reports(one_by_one, steps, "s"))
    got = batch(_reports(batched, steps, "b"))
    if then is not None:
        expected += then(one_by_one, sequential)
        got += then(batched, batch)
    assert got == expected
    state = _state(session, batched)
    assert state == _state(session, one_by_one)
    return got, state


def test_a_batch_with_duplicates_gives_the_end_state_of_one_by_one(
    db_session: Session, settings: Settings
) -> None:
    steps: list[Step] = [
        (HARD, 0, 0, "r1"),
        (HARD, 0, 0, "r1"),  # the same report twice in one batch
        (HARD, 0, 0, "r1-again"),  # another id, the same delivery and kind
        (SOFT, 1, 0, "r2"),
        (SOFT, 1, 0, "r2"),
        (COMPLAINT, 2, 1, "r3"),
        (COMPLAINT, 2, 1, "r3"),
        (HARD, 3, None, "r4"),  # by address only
        (HARD, 3, None, "r4"),
    ]

    outcomes, state = _compare(db_session, settings, steps)

    assert (
        outcomes
        == [Outcome.APPLIED, Outcome.DUPLICATE, Outcome.DUPLICATE]
        + [
            Outcome.APPLIED,
            Outcome.DUPLICATE,
        ]
        * 3
    )
    assert state[0]["statuses"][0] == DeliveryStatus.BOUNCED
    assert state[0]["suppressions"] == ["hard_bounce"]
    assert state[2]["suppressions"] == ["complaint"]
    assert [w[:2] for w in state[2]["withdrawals"]] == [(0, "complaint"), (1, "complaint")]
    assert state[3]["suppressions"] == ["hard_bounce"]


def test_a_replayed_batch_changes_nothing(db_session: Session, settings: Settings) -> None:
    steps: list[Step] = [
        (HARD, 0, 3, "h"),
        (SOFT, 1, 1, "s1"),
        (SOFT, 1, 2, "s2"),
        (COMPLAINT, 2, 0, "c"),
        (HARD, 3, None, "a"),
    ]

    def replay(audience: Audience, run: Callable[[list[Feedback]], list[Outcome]]) -> list[Outcome]:
        prefix = "s" if run.__name__ == "sequential" else "b"
        return run(_reports(audience, steps, prefix))

    outcomes, state = _compare(db_session, settings, steps, then=replay)

    assert outcomes == [Outcome.APPLIED] * 5 + [Outcome.DUPLICATE] * 5
    assert [len(s["feedback"]) for s in state] == [1, 2, 1, 1]
    assert state[2]["audit"] == {"deliverability.complaint": 1, "consent.withdraw": 2}


def test_a_mixed_batch_on_one_delivery_gives_the_end_state_of_one_by_one(
    db_session: Session, settings: Settings
) -> None:
    assert settings.deliverability.soft_bounce_limit == 3
    steps: list[Step] = [
        # Every kind about the same delivery, twice over in another order on another contact.
        (HARD, 0, 3, "h0"),
        (SOFT, 0, 3, "s0"),
        (COMPLAINT, 0, 3, "c0"),
        (COMPLAINT, 1, 3, "c1"),
        (SOFT, 1, 3, "s1"),
        (HARD, 1, 3, "h1"),
        # Three soft bounces of one contact in one batch reach SOFT_BOUNCE_LIMIT, then a hard bounce.
        (SOFT, 2, 1, "s2a"),
        (SOFT, 2, 2, "s2b"),
        (SOFT, 2, 3, "s2c"),
        (HARD, 2, 0, "h2"),
        # One soft bounce: counted, below the limit.
        (SOFT, 3, 0, "s3"),
    ]

    outcomes, state = _compare(db_session, settings, steps)

    assert outcomes == [Outcome.APPLIED] * 11
    assert state[0]["suppressions"] == ["hard_bounce"]
    assert state[1]["suppressions"] == ["complaint"]
    assert state[1]["statuses"][3] == DeliveryStatus.BOUNCED
    assert state[2]["suppressions"] == ["soft_bounce"]
    assert state[3]["suppressions"] == []


def test_unknown_and_erased_targets_in_a_batch_change_nothing(
    db_session: Session, settings: Settings
) -> None:
    audience = _audience(db_session)
    known = _reports(audience, [(HARD, 0, 0, "known")], "b")[0]
    unknown = Feedback(kind=HARD, report_id="x", source="ses", delivery_id=known.delivery_id + 10_000)  # type: ignore[operator]
    nobody = Feedback(kind=COMPLAINT, report_id="y", source="postmark", delivery_id=None, address="no@x.org")
    garbage = Feedback(
        kind=COMPLAINT, report_id="z", source="postmark", delivery_id=None, address="not an address"
    )

    outcomes = apply_many(db_session, settings, [unknown, known, nobody, garbage])

    assert outcomes == [Outcome.UNKNOWN, Outcome.APPLIED, Outcome.UNKNOWN, Outcome.UNKNOWN]
    assert len(db_session.scalars(select(DeliveryFeedback.id)).all()) == 1


def _statements(session: Session, run: Callable[[], object]) -> int:
    """How many statements `run` sends to the database."""
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, Connection) else bind
    sent: list[str] = []

    def count(*_args: object) -> None:
        sent.append("statement")

    event.listen(engine, "before_cursor_execute", count)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(sent)


def test_a_batch_takes_as_many_statements_whatever_its_size(db_session: Session, settings: Settings) -> None:
    purpose = PurposeFactory()
    WordingFactory(purpose=purpose)
    campaign = CampaignFactory(purpose_id=purpose.id, status="sent")
    kinds = (HARD, SOFT, COMPLAINT)
    costs = []
    for size in (6, 60):
        reports = []
        for n in range(size):
            contact = ContactFactory()
            grant(db_session, contact, purpose)
            delivery = Delivery(
                campaign_id=campaign.id, contact_id=contact.id, status=DeliveryStatus.SENT, sent_at=utcnow()
            )
            db_session.add(delivery)
            db_session.flush()
            reports.append(
                Feedback(kind=kinds[n % 3], report_id=f"{size}-{n}", source="ses", delivery_id=delivery.id)
            )

        def run(batch: list[Feedback] = reports) -> None:
            assert set(apply_many(db_session, settings, batch)) == {Outcome.APPLIED}

        costs.append(_statements(db_session, run))

    # Set-based: the statements per batch do not grow with the reports in it.
    assert costs[0] == costs[1]
    assert costs[1] < 60
