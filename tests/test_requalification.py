"""Requalification (R47 to R51) with an injected clock: who is due, one ask per cycle, answers, the deadline."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from sender.db import utcnow
from sender.models import (
    Campaign,
    ConsentEvent,
    ConsentState,
    Contact,
    Delivery,
    Purpose,
    Requalification,
    RequalificationAsk,
    Suppression,
)
from sender.runtime import Runtime
from sender.services.audience import interactions
from sender.services.campaigns import launch, lifecycle, requalify, requalify_cycle
from sender.services.consent import ledger
from sender.services.consent.requalify_links import AskLink, answer_url
from sender.services.errors import ValidationFailed
from sender.services.records import cron_lock
from tests.campaign_helpers import grant
from tests.factories import ContactFactory, PurposeFactory, WordingFactory

YEARS_3 = timedelta(days=1095)
BODY = "Bonjour {{ contact.first_name }},\nsouhaitez-vous continuer à recevoir nos nouvelles ?\n{{ confirm_url }}\n"


@pytest.fixture
def purpose(db_session: Session) -> Purpose:
    purpose = PurposeFactory(slug="newsletter", consent_validity_days=None)
    WordingFactory(purpose=purpose)
    return purpose


def open_cycle(session: Session, runtime: Runtime, purpose: Purpose, days: int = 30) -> Campaign:
    """A requalification campaign written by a marketer, approved by the DPO and started."""
    now = utcnow()
    draft = requalify.Draft(
        "Re-permission", purpose.slug, "Votre accord ?", BODY, deadline=now + timedelta(days=days)
    )
    campaign = requalify.create(session, runtime.settings, draft, "user:1", now=now)
    requalify.approve(session, runtime.settings, campaign.id, "user:2", "Legacy list of 2019, DPO file 12.")
    requalify.start(session, campaign, now=now)
    session.commit()
    return campaign


def send_all(runtime: Runtime, session: Session, campaign_id: int) -> None:
    """Run the pending batches through the real send path (outbox transport)."""
    for batch in lifecycle.pending_batches(session, campaign_id):
        launch.run_batch(runtime, campaign_id, batch)


def asks(session: Session, campaign_id: int) -> dict[int, str]:
    session.expire_all()
    rows = session.execute(
        select(RequalificationAsk.contact_id, RequalificationAsk.status).where(
            RequalificationAsk.campaign_id == campaign_id
        )
    ).all()
    return {row.contact_id: row.status for row in rows}


def test_who_is_due_on_both_sides_of_the_three_year_boundary(
    db_session: Session, runtime: Runtime, purpose: Purpose, redis_conn: Any
) -> None:
    now = utcnow()
    fresh, stale = ContactFactory(), ContactFactory()
    for contact in (fresh, stale):
        grant(db_session, contact, purpose, at=now - YEARS_3 - timedelta(days=30))
    fresh.last_interaction_at = now - YEARS_3 + timedelta(days=1)
    stale.last_interaction_at = now - YEARS_3 - timedelta(days=1)
    legacy = ContactFactory(is_legacy=True)
    legacy_withdrawn = ContactFactory(is_legacy=True)
    ledger.record(
        db_session, legacy_withdrawn, purpose, channel="email", action="withdraw",
        source="api", mechanism="objection", actor="test",
    )  # fmt: skip
    legacy_suppressed = ContactFactory(is_legacy=True)
    db_session.add(
        Suppression(address_hash=legacy_suppressed.email_hash, channel="email", reason="complaint")
    )
    legacy_archived = ContactFactory(is_legacy=True, status="restricted")
    legacy_erased = ContactFactory(is_legacy=True, status="erased", email=None, email_hash=None)
    not_legacy_never_asked = ContactFactory()
    db_session.flush()

    campaign = open_cycle(db_session, runtime, purpose)
    due = requalify_cycle.due_ids(db_session, campaign, purpose, now, 100)

    assert due == sorted([stale.id, legacy.id])
    assert fresh.id not in due and not_legacy_never_asked.id not in due
    for refused in (legacy_withdrawn, legacy_suppressed, legacy_archived, legacy_erased):
        assert refused.id not in due
    # The audience preview the DPO sees before approving: who would be asked, who is refused and why.
    preview = lifecycle.preview(db_session, campaign, now)
    assert (preview.queued, preview.skipped) == (2, {"restricted": 1, "suppressed": 1, "withdrawn": 1})
    # A day later the fresh one crosses the boundary too.
    assert fresh.id in requalify_cycle.due_ids(db_session, campaign, purpose, now + timedelta(days=2), 100)


def test_an_expired_consent_is_due(db_session: Session, runtime: Runtime, redis_conn: Any) -> None:
    purpose = PurposeFactory(consent_validity_days=365)
    WordingFactory(purpose=purpose)
    contact = ContactFactory()
    grant(db_session, contact, purpose, at=utcnow() - timedelta(days=400))
    contact.last_interaction_at = utcnow()
    campaign = open_cycle(db_session, runtime, purpose)
    assert requalify_cycle.due_ids(db_session, campaign, purpose, utcnow(), 10) == [contact.id]


def test_an_open_does_not_reset_the_clock_a_click_does_a_scanner_click_does_not(
    db_session: Session, runtime: Runtime, purpose: Purpose
) -> None:
    settings = runtime.settings
    start = utcnow() - YEARS_3 - timedelta(days=1)
    contact = ContactFactory(last_interaction_at=start)
    now = utcnow()
    for kind in ("open", "delivery", "send"):
        assert interactions.record(db_session, settings, contact, kind, at=now) == "not_from_the_person"
    assert contact.last_interaction_at == start

    campaign = Campaign(name="c", purpose_id=purpose.id, channel="email", subject="s", body_text="t")
    db_session.add(campaign)
    db_session.flush()
    delivery = Delivery(campaign_id=campaign.id, contact_id=contact.id, status="sent", sent_at=now)
    db_session.add(delivery)
    db_session.flush()
    scanner = now + timedelta(seconds=2)
    assert interactions.record(
        db_session, settings, contact, "click", at=scanner, delivery_id=delivery.id
    ) == ("automated")
    assert contact.last_interaction_at == start

    human = now + timedelta(minutes=5)
    assert (
        interactions.record(db_session, settings, contact, "click", at=human, delivery_id=delivery.id) is None
    )
    assert contact.last_interaction_at == human
    # An old interaction reported late never rewinds the clock.
    assert interactions.record(db_session, settings, contact, "order", at=start) is None
    assert contact.last_interaction_at == human


def test_a_click_makes_a_stale_contact_no_longer_due(
    db_session: Session, runtime: Runtime, purpose: Purpose, redis_conn: Any
) -> None:
    contact = ContactFactory()
    grant(db_session, contact, purpose, at=utcnow() - YEARS_3 - timedelta(days=10))
    contact.last_interaction_at = utcnow() - YEARS_3 - timedelta(days=1)
    campaign = open_cycle(db_session, runtime, purpose)
    assert requalify_cycle.due_ids(db_session, campaign, purpose, utcnow(), 10) == [contact.id]
    interactions.record(db_session, runtime.settings, contact, "open")
    assert requalify_cycle.due_ids(db_session, campaign, purpose, utcnow(), 10) == [contact.id]
    interactions.record(db_session, runtime.settings, contact, "click")
    assert requalify_cycle.due_ids(db_session, campaign, purpose, utcnow(), 10) == []


def test_bad_drafts_are_refused_per_field(db_session: Session, runtime: Runtime, purpose: Purpose) -> None:
    now = utcnow()
    settings = runtime.settings
    with pytest.raises(ValidationFailed) as past:
        requalify.create(
            db_session,
            settings,
            requalify.Draft("n", purpose.slug, "s", BODY, deadline=now - timedelta(minutes=1)),
            "u",
        )
    assert "must be in the future" in past.value.errors["deadline"]
    promo = "Bonjour,\n-20 % sur toute la boutique !\n{{ confirm_url }}"
    with pytest.raises(ValidationFailed) as offer:
        requalify.create(db_session, settings, requalify.Draft("n", purpose.slug, "s", promo), "u")
    assert offer.value.errors["body_text"].startswith("line 2: promotional wording '20 %'")
    html = '<p>Hello</p>\n<a href="https://shop.example/sale">Shop</a>'
    with pytest.raises(ValidationFailed) as link:
        requalify.create(db_session, settings, requalify.Draft("n", purpose.slug, "s", BODY, html), "u")
    assert link.value.errors["body_html"].startswith("line 2: marketing link")
    block = "{% block offer %}x{% endblock %}"
    with pytest.raises(ValidationFailed) as blocked:
        requalify.create(db_session, settings, requalify.Draft("n", purpose.slug, block, BODY), "u")
    assert "promotional block" in blocked.value.errors["subject"]
    assert db_session.scalar(select(func.count()).select_from(Campaign)) == 0


def test_no_start_without_approval_and_no_approval_by_the_author(
    db_session: Session, runtime: Runtime, purpose: Purpose
) -> None:
    campaign = requalify.create(
        db_session, runtime.settings, requalify.Draft("n", purpose.slug, "s", BODY), "user:1"
    )
    with pytest.raises(ValidationFailed) as refused:
        requalify.start(db_session, campaign)
    assert "DPO" in refused.value.errors["approval"]
    assert campaign.status == "draft"
    from sender.services.errors import Forbidden

    with pytest.raises(Forbidden):
        requalify.approve(db_session, runtime.settings, campaign.id, "user:1", "mine")
    cycle = requalify.approve(db_session, runtime.settings, campaign.id, "user:2", "Checked the 2019 file.")
    assert (cycle.approved_by, cycle.approval_note) == ("user:2", "Checked the 2019 file.")
    assert cycle.approved_at is not None


def test_each_due_contact_is_asked_once_and_a_second_run_sends_nothing(
    db_session: Session, runtime: Runtime, purpose: Purpose, redis_conn: Any
) -> None:
    legacy = [ContactFactory(is_legacy=True) for _ in range(5)]
    campaign = open_cycle(db_session, runtime, purpose)
    first = requalify_cycle.run(runtime)
    assert first.asked == 5 and first.batches >= 1
    send_all(runtime, db_session, campaign.id)
    second = requalify_cycle.run(runtime)
    assert second.asked == 0
    assert set(asks(db_session, campaign.id)) == {c.id for c in legacy}
    sent = db_session.scalars(select(Delivery.status).where(Delivery.campaign_id == campaign.id)).all()
    assert sent == ["sent"] * 5
    # A contact who becomes due later is asked in the same cycle, once.
    late = ContactFactory(is_legacy=True)
    db_session.commit()
    assert requalify_cycle.run(runtime).asked == 1
    assert late.id in asks(db_session, campaign.id)


def test_two_overlapping_runs_one_holds_the_lock(
    db_session: Session, runtime: Runtime, purpose: Purpose, redis_conn: Any
) -> None:
    ContactFactory(is_legacy=True)
    open_cycle(db_session, runtime, purpose)
    other = runtime.Session()
    lease = cron_lock.acquire(other, requalify_cycle.LOCK)
    assert lease is not None
    assert requalify_cycle.run(runtime).locked
    assert db_session.scalar(select(func.count()).select_from(RequalificationAsk)) == 0
    lease.release()
    assert requalify_cycle.run(runtime).asked == 1
    # A crashed run's lease is taken over once it has expired.
    stuck = cron_lock.acquire(other, requalify_cycle.LOCK)
    assert stuck is not None
    later = utcnow() + timedelta(seconds=cron_lock.LEASE_SECONDS + 1)
    assert not requalify_cycle.run(runtime, now=later).locked


def test_a_crash_between_sending_and_recording_is_never_resent(
    db_session: Session, runtime: Runtime, purpose: Purpose, redis_conn: Any
) -> None:
    contact = ContactFactory(is_legacy=True)
    campaign = open_cycle(db_session, runtime, purpose)
    requalify_cycle.run(runtime)
    # The worker claimed the message and handed it to the transport, then died before recording.
    db_session.execute(
        update(Delivery)
        .where(Delivery.campaign_id == campaign.id)
        .values(status="sending", claimed_at=utcnow() - timedelta(hours=2), attempts=1)
    )
    db_session.commit()
    assert requalify_cycle.run(runtime).asked == 0
    launch.sweep(runtime)
    db_session.expire_all()
    status = db_session.scalar(select(Delivery.status).where(Delivery.campaign_id == campaign.id))
    assert status == "unknown"
    assert requalify_cycle.run(runtime).asked == 0
    assert db_session.scalar(select(func.count()).select_from(Delivery)) == 1
    # It may have reached the person: silence at the deadline counts.
    cycle = db_session.get(Requalification, campaign.id)
    assert cycle is not None
    report = requalify_cycle.run(runtime, now=cycle.deadline + timedelta(seconds=1))
    assert report.closed == {"erased": 1}
    assert asks(db_session, campaign.id) == {contact.id: "erased"}


def _link(runtime: Runtime, answer: str, contact: Contact, campaign: Campaign) -> str:
    url = answer_url(
        runtime.settings, runtime.tokens, answer, AskLink(contact.public_id, campaign.id, campaign.purpose_id)
    )
    return url.removeprefix(runtime.settings.public_base_url)


def test_confirm_get_changes_nothing_post_grants_with_proof_of_the_message(
    db_session: Session, runtime: Runtime, client: FlaskClient, purpose: Purpose, redis_conn: Any
) -> None:
    contact = ContactFactory(is_legacy=True)
    campaign = open_cycle(db_session, runtime, purpose)
    requalify_cycle.run(runtime)
    send_all(runtime, db_session, campaign.id)
    path = _link(runtime, "confirm", contact, campaign)

    page = client.get(path)
    assert page.status_code == 200
    assert "Oui, je donne mon accord" in page.get_data(as_text=True)
    assert (page.headers["Referrer-Policy"], page.headers["Cache-Control"]) == ("no-referrer", "no-store")
    assert db_session.scalar(select(func.count()).select_from(ConsentEvent)) == 0

    done = client.post(path)
    assert done.status_code == 200
    assert "votre accord est enregistré" in done.get_data(as_text=True)
    db_session.expire_all()
    event = db_session.scalars(select(ConsentEvent).where(ConsentEvent.contact_id == contact.id)).one()
    delivery_id = db_session.scalar(select(Delivery.id).where(Delivery.campaign_id == campaign.id))
    assert (event.action, event.source, event.mechanism) == ("grant", "requalification", "button")
    assert event.evidence == {"form_id": f"campaign:{campaign.id}/delivery:{delivery_id}"}
    assert event.wording_id is not None
    state = db_session.get(ConsentState, (contact.id, purpose.id, "email"))
    assert state is not None and state.status == "granted"
    assert asks(db_session, campaign.id) == {contact.id: "confirmed"}
    # The confirmer is kept at the deadline.
    cycle = db_session.get(Requalification, campaign.id)
    assert cycle is not None
    requalify_cycle.run(runtime, now=cycle.deadline + timedelta(seconds=1))
    db_session.expire_all()
    assert db_session.get(Contact, contact.id).status == "active"  # type: ignore[union-attr]


def test_decline_withdraws(
    db_session: Session, runtime: Runtime, client: FlaskClient, purpose: Purpose, redis_conn: Any
) -> None:
    contact = ContactFactory(is_legacy=True)
    campaign = open_cycle(db_session, runtime, purpose)
    requalify_cycle.run(runtime)
    path = _link(runtime, "decline", contact, campaign)
    assert client.get(path).status_code == 200
    assert client.post(path).status_code == 200
    db_session.expire_all()
    state = db_session.get(ConsentState, (contact.id, purpose.id, "email"))
    assert state is not None and state.status == "withdrawn"
    assert asks(db_session, campaign.id) == {contact.id: "declined"}
    # A confirm link is not a decline link, and the reverse.
    wrong = _link(runtime, "confirm", contact, campaign).replace("/confirm/", "/decline/")
    assert client.post(wrong).status_code == 404


def test_confirm_after_the_deadline_offers_to_sign_up_again_and_records_nothing(
    db_session: Session, runtime: Runtime, client: FlaskClient, purpose: Purpose, redis_conn: Any
) -> None:
    contact = ContactFactory(is_legacy=True)
    campaign = open_cycle(db_session, runtime, purpose)
    requalify_cycle.run(runtime)
    path = _link(runtime, "confirm", contact, campaign)
    db_session.execute(
        update(Requalification)
        .where(Requalification.campaign_id == campaign.id)
        .values(deadline=utcnow() - timedelta(seconds=1))
    )
    db_session.commit()
    for response in (client.get(path), client.post(path)):
        text = response.get_data(as_text=True)
        assert response.status_code == 200
        assert "Cette demande est close" in text and "/signup" in text
    assert db_session.scalar(select(func.count()).select_from(ConsentEvent)) == 0


def test_silence_erases_at_the_deadline_keeping_only_the_keyed_hash(
    db_session: Session,
    runtime: Runtime,
    client: FlaskClient,
    purpose: Purpose,
    redis_conn: Any,
    api_headers: dict[str, str],
) -> None:
    contact = ContactFactory(is_legacy=True, email="silent@example.org", first_name="Silent")
    digest = contact.email_hash
    campaign = open_cycle(db_session, runtime, purpose)
    requalify_cycle.run(runtime)
    send_all(runtime, db_session, campaign.id)
    cycle = db_session.get(Requalification, campaign.id)
    assert cycle is not None
    before = requalify_cycle.run(runtime, now=cycle.deadline - timedelta(seconds=1))
    assert before.closed == {}
    after = requalify_cycle.run(runtime, now=cycle.deadline)
    assert after.closed == {"erased": 1}
    db_session.expire_all()
    erased = db_session.get(Contact, contact.id)
    assert erased is not None and erased.status == "erased"
    assert (erased.email, erased.email_hash, erased.first_name) == (None, None, None)
    assert (
        db_session.scalar(select(Suppression.reason).where(Suppression.address_hash == digest)) == "erasure"
    )
    assert db_session.get(Requalification, campaign.id).closed_at is not None  # type: ignore[union-attr]
    # The confirm link now offers to sign up again.
    assert "Cette demande est close" in client.get(_link(runtime, "confirm", contact, campaign)).get_data(
        as_text=True
    )
    # The erased non-responder cannot be re-created.
    again = client.post("/api/v1/contacts", json={"email": "Silent@Example.org"}, headers=api_headers)
    assert again.status_code == 409
    assert "suppression" in again.get_json()["message"]


def test_silence_archives_when_the_organisation_chose_it(
    db_session: Session, runtime: Runtime, purpose: Purpose, redis_conn: Any
) -> None:
    archive = Runtime(
        runtime.settings.with_overrides(requalification_silence="archive"),
        runtime.engine,
        runtime.Session,
        runtime.tokens,
    )
    contact = ContactFactory(is_legacy=True)
    campaign = open_cycle(db_session, archive, purpose)
    requalify_cycle.run(archive)
    send_all(archive, db_session, campaign.id)
    cycle = db_session.get(Requalification, campaign.id)
    assert cycle is not None
    assert requalify_cycle.run(archive, now=cycle.deadline).closed == {"archived": 1}
    db_session.expire_all()
    kept = db_session.get(Contact, contact.id)
    assert kept is not None and kept.status == "restricted" and kept.email is not None
    # An archived contact is reached by no campaign, not even the next requalification.
    next_cycle = open_cycle(db_session, archive, purpose)
    assert requalify_cycle.due_ids(db_session, next_cycle, purpose, utcnow(), 10) == []


def test_the_message_carries_the_links_even_if_the_template_drops_them(
    db_session: Session, runtime: Runtime, purpose: Purpose, redis_conn: Any
) -> None:
    ContactFactory(is_legacy=True)
    now = utcnow()
    draft = requalify.Draft(
        "n", purpose.slug, "Votre accord ?", "Bonjour {{ contact.first_name }}.", "<p>Bonjour</p>"
    )
    campaign = requalify.create(db_session, runtime.settings, draft, "user:1", now=now)
    requalify.approve(db_session, runtime.settings, campaign.id, "user:2", "ok")
    requalify.start(db_session, campaign, now=now)
    db_session.commit()
    requalify_cycle.run(runtime)
    from sender.services.messages.rendering import MessageRenderer

    renderer = MessageRenderer(
        runtime.settings, runtime.tokens, campaign, purpose, requalify.message_context(db_session, campaign)
    )
    contact = db_session.scalars(select(Contact)).one()
    content = renderer.content(contact)
    for part in (content.text, content.html):
        assert "/requalify/confirm/" in part and "/requalify/decline/" in part
        assert "version 1" in part
    assert "@" not in content.text.split("/requalify/confirm/")[1].split()[0]


def test_a_withdrawal_after_planning_wins_at_the_claim_and_is_not_silence(
    db_session: Session, runtime: Runtime, purpose: Purpose, redis_conn: Any
) -> None:
    stays, withdraws = ContactFactory(is_legacy=True), ContactFactory(is_legacy=True)
    campaign = open_cycle(db_session, runtime, purpose)
    assert requalify_cycle.run(runtime).asked == 2
    ledger.record(
        db_session, withdraws, purpose, channel="email", action="withdraw",
        source="portal", mechanism="form", actor="test",
    )  # fmt: skip
    db_session.commit()
    send_all(runtime, db_session, campaign.id)
    db_session.expire_all()
    outcomes = dict(
        db_session.execute(
            select(Delivery.contact_id, Delivery.reason).where(Delivery.campaign_id == campaign.id)
        ).all()
    )
    assert outcomes == {stays.id: None, withdraws.id: "withdrawn"}
    cycle = db_session.get(Requalification, campaign.id)
    assert cycle is not None
    assert requalify_cycle.run(runtime, now=cycle.deadline).closed == {"erased": 1, "excluded": 1}
    assert asks(db_session, campaign.id) == {stays.id: "erased", withdraws.id: "excluded"}
