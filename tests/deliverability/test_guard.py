"""DKIM signing verified over the SMTP wire against a key served by a real DNS server; Feedback-ID; the
circuit breaker pausing a campaign as reports arrive, and a person resuming it."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import dkim
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.security import generate_password_hash

from sender import create_app
from sender.config import Settings
from sender.enums import CampaignStatus, DeliveryStatus, FeedbackKind
from sender.models import AuditEvent, Campaign, Delivery, ListMember, OrganisationSettings, User
from sender.runtime import Runtime
from sender.services.accounts import organisation
from sender.services.campaigns import launch, lifecycle
from sender.services.deliverability import breaker, dkim_key, dns_check, feedback
from sender.services.messages import system_email
from sender.tokens import TokenService
from tests.admin.conftest import PASSWORD, sign_in
from tests.campaign_helpers import grant
from tests.dns_server import DnsTestServer
from tests.factories import CampaignFactory, ContactFactory, ListFactory, PurposeFactory, WordingFactory
from tests.queues import QueuedRuntime
from tests.smtp_server import SmtpTestServer

DOMAIN = "exemple.test"
SELECTOR = "s2027"


@dataclass
class Wire:
    """A runtime sending to a real SMTP server, with a DNS server and its own instance folder."""

    runtime: Runtime
    mail: SmtpTestServer
    dns: DnsTestServer


@pytest.fixture
def wire(
    settings: Settings, engine: Any, session_factory: sessionmaker[Session], tmp_path: Path
) -> Iterator[Wire]:
    with SmtpTestServer() as mail, DnsTestServer() as dns:
        tuned = settings.with_overrides(
            instance_path=tmp_path,
            smtp_url=mail.url,
            send_batch_size=10,
            send_claim_size=5,
            guard=replace(settings.guard, dns_nameservers=dns.nameservers, breaker_min_sent=10),
        )
        runtime = QueuedRuntime(
            settings=tuned, engine=engine, Session=session_factory, tokens=TokenService(tuned.secret_keys)
        )
        yield Wire(runtime, mail, dns)


def _set_up_dkim(session: Session, wire: Wire) -> None:
    """The admin generates a key on the Organisation page's form service, then publishes its record."""
    row = organisation.stored(session)
    settings = wire.runtime.settings
    dkim_key.save(session, settings, row, {"selector": SELECTOR, "domain": DOMAIN, "generate": "1"}, "admin")
    session.commit()
    record = dkim_key.current_record(settings)
    assert record is not None and record.startswith("v=DKIM1; k=rsa; p=")
    wire.dns.txt(f"{SELECTOR}._domainkey.{DOMAIN}", record)


def _dns(wire: Wire) -> Any:
    """dkimpy's DNS lookup, through our resolver setting to the local DNS server."""

    def lookup(name: bytes, timeout: int = 5) -> bytes:
        found = dns_check.txt(wire.runtime.settings, name.decode().rstrip("."))
        return found[0].encode() if found else b""

    return lookup


def _campaign(session: Session, size: int) -> Campaign:
    purpose = PurposeFactory(slug="news")
    WordingFactory(purpose=purpose)
    lst = ListFactory()
    for _ in range(size):
        contact = ContactFactory()
        grant(session, contact, purpose)
        session.add(ListMember(list_id=lst.id, contact_id=contact.id))
    campaign = CampaignFactory(purpose_id=purpose.id, lists=[lst])
    session.commit()
    return campaign


def _launch(session: Session, wire: Wire, campaign: Campaign) -> None:
    launch.send(session, wire.runtime.settings, campaign.id, "user:1", now=True)
    session.commit()


def test_the_key_file_is_private_and_campaign_and_system_mail_verify_against_dns(
    db_session: Session, wire: Wire
) -> None:
    _set_up_dkim(db_session, wire)
    key_file = dkim_key.stored_path(wire.runtime.settings)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    campaign = _campaign(db_session, 3)
    _launch(db_session, wire, campaign)
    for batch in lifecycle.pending_batches(db_session, campaign.id):
        launch.run_batch(wire.runtime, campaign.id, batch)
    contact = ContactFactory()
    effective = organisation.effective_settings(db_session, wire.runtime.settings)
    notice = system_email.build(db_session, wire.runtime.settings, "portal_link", contact.email, "fr", portal_url="https://sender.test/p/x", hours=72)  # fmt: skip
    assert system_email.send(effective, notice).outcome == "sent"

    received = wire.mail.messages
    assert len(received) == 4
    for message in received:
        assert message.message()["DKIM-Signature"] is not None
        assert dkim.verify(message.data, dnsfunc=_dns(wire)), message.data[:400]
    campaign_mail = received[0].message()
    signed = str(campaign_mail["DKIM-Signature"])
    assert f"d={DOMAIN}" in signed and f"s={SELECTOR}" in signed
    assert "list-unsubscribe-post" in signed.replace(" ", "").lower()
    # Gmail's feedback loop: campaign, purpose, organisation, sender; ids only.
    feedback_id = str(campaign_mail["Feedback-ID"])
    assert feedback_id.startswith(f"c{campaign.id}:news:") and feedback_id.endswith(":sender")
    assert "@" not in feedback_id
    # A message altered after signing no longer verifies.
    tampered = received[0].data.replace(b"Subject: ", b"Subject: FW: ", 1)
    assert not dkim.verify(tampered, dnsfunc=_dns(wire))


def test_a_replaced_key_no_longer_matches_the_published_record(db_session: Session, wire: Wire) -> None:
    _set_up_dkim(db_session, wire)
    settings = organisation.effective_settings(db_session, wire.runtime.settings)
    item = {i.name: i for i in dns_check.check(settings, DOMAIN).items}["dkim"]
    assert item.passed
    dkim_key.save(db_session, wire.runtime.settings, organisation.stored(db_session), {"selector": SELECTOR, "domain": DOMAIN, "generate": "1"}, "admin")  # fmt: skip
    item = {i.name: i for i in dns_check.check(settings, DOMAIN).items}["dkim"]
    assert not item.passed and item.detail == "the published key is not the configured one"
    assert item.publish.startswith(f"{SELECTOR}._domainkey.{DOMAIN} TXT v=DKIM1; k=rsa; p=")


def _deliveries(session: Session, campaign_id: int) -> list[Delivery]:
    session.expire_all()
    return list(
        session.scalars(select(Delivery).where(Delivery.campaign_id == campaign_id).order_by(Delivery.id))
    )


def _report(session: Session, wire: Wire, delivery: Delivery, kind: FeedbackKind) -> None:
    settings = organisation.effective_settings(session, wire.runtime.settings)
    outcome = feedback.apply(
        session, settings, feedback.Feedback(kind, f"report-{delivery.id}", "smtp", delivery.id)
    )
    assert outcome == feedback.Outcome.APPLIED
    session.commit()


def test_complaints_pause_the_campaign_until_a_person_resumes_it(
    db_session: Session, wire: Wire, api_headers: dict[str, str]
) -> None:
    campaign = _campaign(db_session, 30)
    _launch(db_session, wire, campaign)
    launch.run_batch(wire.runtime, campaign.id, 0)
    sent = [d for d in _deliveries(db_session, campaign.id) if d.status == DeliveryStatus.SENT]
    assert len(sent) == 10 and len(wire.mail.messages) == 10

    # One complaint in ten messages: 10 %, far past 0.3 % with the minimum sample (10 here) reached.
    _report(db_session, wire, sent[0], FeedbackKind.COMPLAINT)
    launch.run_batch(wire.runtime, campaign.id, 1)
    db_session.expire_all()
    paused = db_session.get(Campaign, campaign.id)
    assert paused is not None and paused.status == CampaignStatus.PAUSED
    assert paused.paused_reason == "complaints"
    assert len(wire.mail.messages) == 10  # nothing more left
    statuses = [d.status for d in _deliveries(db_session, campaign.id)]
    assert statuses.count(DeliveryStatus.QUEUED) == 20
    event = db_session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "campaign.paused", AuditEvent.subject_id == str(campaign.id)
        )
    ).one()
    assert event.actor == breaker.ACTOR
    assert event.details["reason"] == "complaints" and event.details["rate_percent"] == 10.0

    # The campaign page says why, with the rates.
    app = create_app({"TESTING": True}, runtime=wire.runtime)
    marketer = app.test_client()
    db_session.add(
        User(email="marketer@exemple.org", role="marketer", password_hash=generate_password_hash(PASSWORD))
    )
    db_session.commit()
    assert sign_in(marketer, "marketer@exemple.org").status_code == 302
    page = marketer.get(f"/admin/campaigns/{campaign.id}").get_data(as_text=True)
    assert "Paused by the circuit breaker" in page
    assert "Spam complaint rate reached its pause threshold" in page
    assert "10.00 %" in page
    # The API's campaign report says the same.
    api = app.test_client().get(f"/api/v1/campaigns/{campaign.id}", headers=api_headers).get_json()
    assert api["paused_reason"] == "complaints"
    assert api["deliverability"] == {
        "sent": 10,
        "hard_bounces": 0,
        "soft_bounces": 0,
        "complaints": 1,
        "hard_bounce_rate": 0.0,
        "soft_bounce_rate": 0.0,
        "complaint_rate": 10.0,
    }
    # The dashboard: the sending domain and the campaign, against the thresholds.
    board = marketer.get("/admin/").get_data(as_text=True)
    assert "Bounces and complaints, last 24 hours" in board
    assert ">exemple.test</th>" in board and "over the pause threshold" in board

    # Nothing resumes it by itself: the cron duty leaves a paused campaign alone.
    assert breaker.sweep(db_session, organisation.effective_settings(db_session, wire.runtime.settings)) == []
    # A person resumes; the breaker counts from then, and the rest goes out.
    launch.resume(db_session, paused, "user:1")
    db_session.commit()
    for batch in (1, 2):
        launch.run_batch(wire.runtime, campaign.id, batch)
    db_session.expire_all()
    done = db_session.get(Campaign, campaign.id)
    assert done is not None and done.status == CampaignStatus.SENT and done.paused_reason is None
    assert len(wire.mail.messages) == 30


def test_one_bounce_among_few_messages_pauses_nothing_but_hard_bounces_past_5_percent_do(
    db_session: Session, wire: Wire
) -> None:
    campaign = _campaign(db_session, 30)
    _launch(db_session, wire, campaign)
    launch.run_batch(wire.runtime, campaign.id, 0)
    sent = [d for d in _deliveries(db_session, campaign.id) if d.status == DeliveryStatus.SENT]
    settings = organisation.effective_settings(db_session, wire.runtime.settings)
    # Under the minimum sample: 1 hard bounce of 10 sent with a minimum of 20 pauses nothing.
    strict = settings.with_overrides(guard=replace(settings.guard, breaker_min_sent=20))
    _report(db_session, wire, sent[0], FeedbackKind.HARD_BOUNCE)
    assert breaker.sweep(db_session, strict) == []
    # Soft bounces do not trip the breaker.
    _report(db_session, wire, sent[1], FeedbackKind.SOFT_BOUNCE)
    assert breaker.tripped(
        settings, breaker.rates.campaign_window(db_session, campaign.id, breaker.since(settings))
    ) == (
        "hard_bounces",
        10.0,
        5.0,
    )
    trips = breaker.sweep(db_session, settings)
    assert [(t.campaign_id, t.reason, t.scope) for t in trips] == [(campaign.id, "hard_bounces", "campaign")]
    db_session.commit()
    assert db_session.get(Campaign, campaign.id).status == CampaignStatus.PAUSED  # type: ignore[union-attr]


def test_stored_selector_and_domain_are_resolved_and_the_environment_wins(
    db_session: Session, wire: Wire
) -> None:
    _set_up_dkim(db_session, wire)
    effective = organisation.effective_settings(db_session, wire.runtime.settings)
    assert (effective.guard.dkim_selector, effective.guard.dkim_domain) == (SELECTOR, DOMAIN)
    assert effective.guard.dkim_key_file == dkim_key.stored_path(wire.runtime.settings)
    env = wire.runtime.settings.with_overrides(
        guard=replace(wire.runtime.settings.guard, dkim_selector="ops")
    )
    assert organisation.effective_settings(db_session, env).guard.dkim_selector == "ops"
    row = db_session.get(OrganisationSettings, organisation.ROW_ID)
    assert row is not None and not hasattr(row, "dkim_private_key")
