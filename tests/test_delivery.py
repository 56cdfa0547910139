"""Claiming deliveries: the consent re-check in the claim, at-most-once, outcomes and retries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from sender.channels.base import SendResult, get_channel
from sender.channels.email import EMAIL
from sender.channels.email.outbox import OutboxTransport
from sender.db import utcnow
from sender.models import Delivery, Suppression
from sender.services.campaigns import delivery, inflight, planning
from sender.services.campaigns.outlet import Outlet
from sender.services.consent import ledger
from sender.services.messages.rendering import EmailRenderer
from sender.tokens import TokenService
from tests.campaign_helpers import build_audience
from tests.factories import CampaignFactory


def _planned(db_session, eligible=2):
    audience = build_audience(db_session, eligible=eligible)
    campaign = CampaignFactory(
        purpose_id=audience.purpose.id, lists=[audience.lst], status="sending", planned_at=utcnow()
    )
    planning.plan_chunk(
        db_session,
        campaign,
        [audience.lst.id],
        utcnow(),
        500,
        channel=get_channel(campaign.channel),
        after=0,
        limit=1000,
        first_batch=0,
    )
    return audience, campaign


def _row(db_session, campaign, contact):
    return db_session.scalars(
        select(Delivery)
        .where(Delivery.campaign_id == campaign.id, Delivery.contact_id == contact.id)
        .execution_options(populate_existing=True)
    ).one()


def test_withdrawal_after_planning_is_seen_by_the_claim(db_session):
    audience, campaign = _planned(db_session)
    late = audience.contacts["eligible1"]
    ledger.record(
        db_session,
        late,
        audience.purpose,
        channel="email",
        action="withdraw",
        source="one_click",
        mechanism="one_click",
        actor="contact",
    )

    claimed, skipped = delivery.claim(db_session, campaign, 0, "tok", limit=10)

    assert [c.id for _, c in claimed] == [audience.contacts["eligible0"].id]
    assert skipped == {"withdrawn": 1}
    assert (_row(db_session, campaign, late).status, _row(db_session, campaign, late).reason) == (
        "skipped",
        "withdrawn",
    )


def test_claimed_rows_are_never_claimed_again(db_session):
    _, campaign = _planned(db_session, eligible=3)

    first, _ = delivery.claim(db_session, campaign, 0, "run-a", limit=2)
    second, _ = delivery.claim(db_session, campaign, 0, "run-b", limit=10)
    third, _ = delivery.claim(db_session, campaign, 0, "run-c", limit=10)

    assert len(first) == 2 and len(second) == 1 and third == []
    assert {d for d, _ in first}.isdisjoint({d for d, _ in second})


def test_outcomes_sent_permanent_and_invalid_address(db_session, settings):
    _audience, campaign = _planned(db_session, eligible=3)
    claimed, _ = delivery.claim(db_session, campaign, 0, "tok", limit=10)
    (d1, c1), (d2, c2), (d3, c3) = claimed
    report = delivery.BatchReport()

    delivery.record_outcomes(
        db_session,
        settings,
        "tok",
        [
            (d1, c1, SendResult("sent", 250, provider_id="<m1@x>")),
            (d2, c2, SendResult("permanent", 552, "mailbox full")),
            (d3, c3, SendResult("permanent", 550, "5.1.1 no such user", address_invalid=True)),
        ],
        report,
        EMAIL,
    )
    db_session.commit()

    assert _row(db_session, campaign, c1).status == "sent"
    assert _row(db_session, campaign, c1).provider_id == "<m1@x>"
    assert (_row(db_session, campaign, c2).status, _row(db_session, campaign, c2).reason) == (
        "failed",
        "rejected",
    )
    assert (_row(db_session, campaign, c3).status, _row(db_session, campaign, c3).reason) == (
        "failed",
        "invalid_address",
    )
    assert (
        db_session.scalars(
            select(Suppression).where(
                Suppression.address_hash == c3.email_hash, Suppression.channel == "email"
            )
        )
        .one()
        .reason
        == "hard_bounce"
    )
    assert (report.sent, report.failed) == (1, 2)


def test_temporary_failure_requeues_for_a_later_run_until_attempts_run_out(db_session, settings):
    _, campaign = _planned(db_session, eligible=1)
    max_attempts = len(settings.send_retry_intervals) + 1
    for attempt in range(1, max_attempts + 1):
        token = f"run-{attempt}"
        claimed, _ = delivery.claim(db_session, campaign, 0, token, limit=10)
        assert len(claimed) == 1
        delivery.record_outcomes(
            db_session,
            settings,
            token,
            [(*claimed[0], SendResult("temporary", 421, "try later"))],
            delivery.BatchReport(),
            EMAIL,
        )
        db_session.commit()
        # The same run never picks its own failure again: backoff is the next run's job.
        assert delivery.claim(db_session, campaign, 0, token, limit=10)[0] == []
    row = db_session.scalars(
        select(Delivery).where(Delivery.campaign_id == campaign.id, Delivery.attempts > 0)
    ).one()
    assert (row.status, row.reason, row.attempts) == ("failed", "temporary_failure", max_attempts)


def test_outcome_of_a_foreign_claim_is_not_written(db_session, settings):
    _, campaign = _planned(db_session, eligible=1)
    claimed, _ = delivery.claim(db_session, campaign, 0, "owner", limit=10)
    delivery.record_outcomes(
        db_session,
        settings,
        "intruder",
        [(*claimed[0], SendResult("sent", 250))],
        delivery.BatchReport(),
        EMAIL,
    )
    db_session.commit()
    assert db_session.get(Delivery, claimed[0][0], populate_existing=True).status == "sending"


def _expire_claims(db_session, token):
    """Claim the whole batch under `token`, one of its messages started, the lease long over; expire it."""
    _, campaign = _planned(db_session, eligible=3)
    claimed, _ = delivery.claim(db_session, campaign, 0, token, limit=10)
    ids = [d for d, _ in claimed]
    assert inflight.mark_started(db_session, token, ids[:1]) == {ids[0]}
    db_session.execute(
        update(Delivery).where(Delivery.status == "sending").values(claimed_at=utcnow() - timedelta(hours=1))
    )
    assert delivery.expire_stale_claims(db_session, lease_seconds=600) == {(campaign.id, 0)}
    rows = db_session.scalars(
        select(Delivery).where(Delivery.id.in_(ids)).execution_options(populate_existing=True)
    ).all()
    return campaign, {d.id: d for d in rows}, ids


def test_a_stale_claim_is_unknown_only_if_it_started_and_goes_back_to_the_queue_otherwise(db_session):
    campaign, rows, (started, *untouched) = _expire_claims(db_session, f"{delivery.TRACKED}dead-worker")

    assert (rows[started].status, rows[started].reason) == ("unknown", "outcome_unknown")
    assert {(rows[d].status, rows[d].claim_token, rows[d].attempts) for d in untouched} == {
        ("queued", None, 0)
    }
    # The dead worker's start for a claim taken back is refused; a later batch claims and sends it.
    assert inflight.mark_started(db_session, f"{delivery.TRACKED}dead-worker", untouched) == set()
    again, _ = delivery.claim(db_session, campaign, 0, f"{delivery.TRACKED}next", limit=10)
    assert sorted(d for d, _ in again) == sorted(untouched)
    assert not delivery.finish_if_done(db_session, campaign.id)


def test_a_stale_claim_of_a_worker_that_records_no_starts_stays_unknown(db_session):
    campaign, rows, _ = _expire_claims(db_session, "older-worker")

    assert {d.status for d in rows.values()} == {"unknown"}
    assert delivery.claim(db_session, campaign, 0, "next", limit=10)[0] == []
    assert delivery.finish_if_done(db_session, campaign.id)
    assert db_session.get(type(campaign), campaign.id, populate_existing=True).status == "sent"


def test_a_failure_mid_chunk_still_records_what_went_out(db_session, settings, tmp_path):
    audience, campaign = _planned(db_session, eligible=4)
    renderer = EmailRenderer(settings, TokenService(settings.secret_keys), campaign, audience.purpose)
    rendered = []

    def render(contact, delivery_id):
        if len(rendered) == 2:
            raise RuntimeError("template blew up")
        rendered.append(delivery_id)
        return renderer.render(contact, delivery_id)

    outbox = Outlet(EMAIL, settings, None, transport=lambda: OutboxTransport(tmp_path))
    with pytest.raises(RuntimeError), outbox as outlet:
        delivery.send_batch(db_session, settings, campaign.id, 0, outlet, render)

    statuses = {
        d.id: d.status
        for d in db_session.scalars(
            select(Delivery).where(Delivery.campaign_id == campaign.id, Delivery.batch_no == 0)
        )
    }
    assert [statuses[d] for d in rendered] == ["sent", "sent"]
    assert len(list(tmp_path.glob("*.eml"))) == 2
    # Claims never handed to the transport are known unsent: they go back to the queue for a later run.
    assert sorted(statuses.values()) == ["queued", "queued", "sent", "sent"]
