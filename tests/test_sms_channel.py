"""The SMS channel on the send path: gate, mentions, Twilio's answers, quiet-hours deferral, through the real
SDK and the Twilio stand-in (R13, R14, R15, R19, R21, R64, R67)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.channels.base import SendResult, get_channel
from sender.config import Rate, Settings
from sender.db import utcnow
from sender.models import Campaign, Delivery, ListMember, Suppression
from sender.runtime import Runtime
from sender.services.campaigns import deferral, launch, lifecycle, planning
from sender.tokens import TokenService
from tests.campaign_helpers import grant
from tests.factories import CampaignFactory, ContactFactory, ListFactory, PurposeFactory, WordingFactory
from tests.queues import QueuedRuntime
from tests.sms_fixtures import ALL_WEEK, STOP_TEXT, twilio, with_sms, zone_at_local_hour
from tests.twilio_server import TwilioTestServer

__all__ = ["twilio"]


@pytest.fixture
def sms_runtime(
    settings: Settings, engine: Any, session_factory: Any, twilio: TwilioTestServer, redis_conn: Any
) -> Runtime:
    """A runtime on the stand-in, with every day open from 08:00 to 21:30."""
    tuned = with_sms(settings, twilio, **ALL_WEEK).with_overrides(send_claim_size=5)
    return QueuedRuntime(
        settings=tuned, engine=engine, Session=session_factory, tokens=TokenService(tuned.secret_keys)
    )


def sms_campaign(
    db_session: Session, phones: dict[str, str | None], zone: str, **fields: Any
) -> tuple[Campaign, dict[str, Any]]:
    """An SMS campaign to contacts keyed by name; `granted_*` ones consent to SMS, `email_*` to email only."""
    purpose = PurposeFactory()
    WordingFactory(purpose=purpose)
    lst = ListFactory()
    contacts = {}
    for name, phone in phones.items():
        contact = ContactFactory(phone=phone, timezone=zone, first_name=name.title())
        grant(db_session, contact, purpose, channel="email" if name.startswith("email") else "sms")
        lst.members.append(ListMember(contact_id=contact.id))
        contacts[name] = contact
    fields = {
        "channel": "sms",
        "subject": "",
        "body_html": "",
        "body_text": "Soldes -20% ce week-end, {{ contact.first_name }} !",
        **fields,
    }
    campaign = CampaignFactory(
        purpose_id=purpose.id, lists=[lst], status="sending", planned_at=utcnow(), **fields
    )
    planning.plan_chunk(
        db_session,
        campaign,
        [lst.id],
        utcnow(),
        500,
        channel=get_channel(campaign.channel),
        after=0,
        limit=1000,
        first_batch=0,
    )
    db_session.commit()
    return campaign, contacts


def delivery_of(db_session: Session, campaign: Campaign, contact: Any) -> Delivery:
    return db_session.scalars(
        select(Delivery)
        .where(Delivery.campaign_id == campaign.id, Delivery.contact_id == contact.id)
        .execution_options(populate_existing=True)
    ).one()


def test_the_sms_channel_reads_the_phone_columns_and_its_rate(sms_runtime: Runtime) -> None:
    channel = get_channel("sms")
    assert channel.address.columns()[0].key == "phone"
    assert channel.rate_limits(sms_runtime.settings) == (Rate(10, 1),)
    assert channel.connections(sms_runtime.settings) == 32


def test_the_gate_skips_contacts_without_a_phone_and_those_with_email_consent_only(
    db_session: Session, sms_runtime: Runtime
) -> None:
    campaign, _ = sms_campaign(
        db_session,
        {"granted": "+33612345678", "no_phone": None, "email_only": "+33612345679"},
        "Europe/Paris",
    )

    assert lifecycle.report_for(db_session, campaign.id).skipped == {"no_address": 1, "no_consent": 1}


def test_a_batch_sends_body_and_mentions_with_validity_and_callback(
    db_session: Session, sms_runtime: Runtime, twilio: TwilioTestServer
) -> None:
    campaign, contacts = sms_campaign(db_session, {"granted": "+33612345678"}, zone_at_local_hour(12))

    report = launch.run_batch(sms_runtime, campaign.id, 0)

    assert report.sent == 1
    (sms,) = twilio.received
    row = delivery_of(db_session, campaign, contacts["granted"])
    assert sms.to == "+33612345678"
    assert sms.body == f"Soldes -20% ce week-end, Granted !\nExemple\n{STOP_TEXT}"
    assert sms.params["MessagingServiceSid"].startswith("MG")
    assert sms.params["StatusCallback"] == f"https://sender.test/webhooks/twilio/status?d={row.id}"
    # Sent between 12:00 and 13:00 local, the window closes at 21:30: 8.5 to 9.5 hours later (R15).
    assert 8.5 * 3600 - 60 <= int(sms.params["ValidityPeriod"]) <= 9.5 * 3600
    assert (row.status, row.provider_id) == ("sent", sms.sid)
    assert db_session.get(Campaign, campaign.id, populate_existing=True).status == "sent"


def test_the_portal_link_is_added_when_configured(
    db_session: Session, sms_runtime: Runtime, twilio: TwilioTestServer
) -> None:
    runtime = Runtime(
        with_sms(sms_runtime.settings, twilio, **ALL_WEEK, SMS_PORTAL_LINK="true"),
        sms_runtime.engine,
        sms_runtime.Session,
        sms_runtime.tokens,
    )
    campaign, _ = sms_campaign(db_session, {"granted": "+33612345678"}, zone_at_local_hour(12))

    launch.run_batch(runtime, campaign.id, 0)

    assert "\nVos données : https://sender.test/p/" in twilio.received[0].body


def test_the_portal_line_is_in_each_persons_language(
    db_session: Session, sms_runtime: Runtime, twilio: TwilioTestServer
) -> None:
    runtime = Runtime(
        with_sms(sms_runtime.settings, twilio, **ALL_WEEK, SMS_PORTAL_LINK="true"),
        sms_runtime.engine,
        sms_runtime.Session,
        sms_runtime.tokens,
    )
    campaign, contacts = sms_campaign(
        db_session, {"granted_fr": "+33612345678", "granted_en": "+33612345679"}, zone_at_local_hour(12)
    )
    contacts["granted_fr"].locale, contacts["granted_en"].locale = "fr", "en"
    db_session.flush()

    launch.run_batch(runtime, campaign.id, 0)

    bodies = {sms.to: sms.body for sms in twilio.received}
    assert "\nVos données : https://sender.test/p/" in bodies["+33612345678"]
    assert "\nYour data: https://sender.test/p/" in bodies["+33612345679"]
    assert "Vos données" not in bodies["+33612345679"]


def test_a_long_body_gets_its_mentions_in_a_second_sms(
    db_session: Session, sms_runtime: Runtime, twilio: TwilioTestServer
) -> None:
    body = "a" * 1525  # 10 full segments: no room left for the mentions
    campaign, contacts = sms_campaign(
        db_session, {"granted": "+33612345678"}, zone_at_local_hour(12), body_text=body
    )

    launch.run_batch(sms_runtime, campaign.id, 0)

    assert [r.body for r in twilio.received] == [body, f"Exemple\n{STOP_TEXT}"]
    row = delivery_of(db_session, campaign, contacts["granted"])
    assert row.provider_id == ",".join(r.sid for r in twilio.received)


def test_a_legal_notice_ignores_quiet_hours_and_offers_no_stop(
    db_session: Session, sms_runtime: Runtime, twilio: TwilioTestServer
) -> None:
    campaign, _ = sms_campaign(
        db_session,
        {"granted": "+33612345678"},
        zone_at_local_hour(3),
        kind="legal_notice",
        body_text="Nos CGU changent.",
    )

    launch.run_batch(sms_runtime, campaign.id, 0)

    (sms,) = twilio.received
    assert sms.body == "Nos CGU changent.\nExemple"
    assert "ValidityPeriod" not in sms.params


def test_21610_suppresses_the_number_and_is_not_retried(
    db_session: Session, sms_runtime: Runtime, twilio: TwilioTestServer
) -> None:
    campaign, contacts = sms_campaign(
        db_session, {"granted": "+33612345678", "other": "+33612345679"}, zone_at_local_hour(12)
    )
    twilio.fail("+33612345678", 21610)

    report = launch.run_batch(sms_runtime, campaign.id, 0)  # no RetryLater: nothing to retry

    row = delivery_of(db_session, campaign, contacts["granted"])
    assert (row.status, row.reason, row.attempts) == ("failed", "opted_out", 1)
    assert (report.sent, report.failed, report.retry) == (1, 1, 0)
    assert (
        db_session.scalar(
            select(Suppression.reason).where(Suppression.address_hash == contacts["granted"].phone_hash)
        )
        == "carrier_opt_out"
    )


def test_an_invalid_number_fails_and_is_suppressed(
    db_session: Session, sms_runtime: Runtime, twilio: TwilioTestServer
) -> None:
    campaign, contacts = sms_campaign(db_session, {"granted": "+33612345678"}, zone_at_local_hour(12))
    twilio.fail("+33612345678", 21614)

    launch.run_batch(sms_runtime, campaign.id, 0)

    row = delivery_of(db_session, campaign, contacts["granted"])
    assert (row.status, row.reason) == ("failed", "invalid_address")


def test_a_429_backs_off_and_the_message_goes_without_counting_an_attempt(
    db_session: Session, sms_runtime: Runtime, twilio: TwilioTestServer
) -> None:
    campaign, contacts = sms_campaign(db_session, {"granted": "+33612345678"}, zone_at_local_hour(12))
    twilio.fail("+33612345678", 20429, times=1)

    launch.run_batch(sms_runtime, campaign.id, 0)

    row = delivery_of(db_session, campaign, contacts["granted"])
    assert (row.status, row.attempts) == ("sent", 1)
    assert [r.answered for r in twilio.received] == [429, 201]


def test_verdicts_of_twilio_answers() -> None:
    channel = get_channel("sms")
    assert channel.verdict(SendResult("permanent", 21610, "unsubscribed")).suppress == "carrier_opt_out"
    assert channel.verdict(SendResult("temporary", 30001, "queue overflow")).throttled
    assert channel.verdict(SendResult("temporary", 429, "too many")).throttled
    assert channel.verdict(SendResult("temporary", 500, "oops")).status == "retry"
    assert not channel.verdict(SendResult("temporary", 500, "oops")).throttled


def test_outside_the_window_a_delivery_is_deferred_to_the_next_slot_then_released(
    db_session: Session, sms_runtime: Runtime, twilio: TwilioTestServer, redis_conn: Any
) -> None:
    zone = zone_at_local_hour(3)
    campaign, contacts = sms_campaign(db_session, {"granted": "+33612345678"}, zone)

    report = launch.run_batch(sms_runtime, campaign.id, 0)

    assert twilio.received == []
    row = delivery_of(db_session, campaign, contacts["granted"])
    local_slot = datetime.now(ZoneInfo(zone)).replace(hour=8, minute=0, second=0, microsecond=0)
    slot = local_slot.astimezone(UTC).replace(tzinfo=None)
    assert (row.status, row.reason, row.not_before, row.attempts) == ("deferred", "quiet_hours", slot, 0)
    assert (report.deferred, report.resume_at) == (1, slot)
    # Never dropped: the campaign stays open, and a release job waits for the slot.
    assert db_session.get(Campaign, campaign.id, populate_existing=True).status == "sending"
    scheduled = ScheduledJobRegistry(queue=sms_runtime.queue("sms")).get_job_ids()
    assert scheduled == [f"campaign-{campaign.id}-release-{int(slot.replace(tzinfo=UTC).timestamp())}"]

    assert deferral.release_due(db_session, at=slot - timedelta(seconds=1)) == set()
    assert deferral.release_due(db_session, at=slot) == {campaign.id}
    row = delivery_of(db_session, campaign, contacts["granted"])
    assert (row.status, row.reason) == ("queued", None)


def test_the_sweep_releases_deferred_deliveries_whose_slot_has_come(
    db_session: Session, sms_runtime: Runtime, twilio: TwilioTestServer, redis_conn: Any
) -> None:
    campaign, contacts = sms_campaign(db_session, {"granted": "+33612345678"}, zone_at_local_hour(3))
    launch.run_batch(sms_runtime, campaign.id, 0)
    row = delivery_of(db_session, campaign, contacts["granted"])
    row.not_before = utcnow() - timedelta(seconds=1)  # as if the release job had been lost
    db_session.commit()

    report = launch.sweep(sms_runtime)

    assert delivery_of(db_session, campaign, contacts["granted"]).status == "queued"
    assert report.requeued_jobs == 1


def test_a_window_closing_within_a_minute_defers_too(db_session: Session, sms_runtime: Runtime) -> None:
    channel = get_channel("sms")
    contact = ContactFactory(phone="+33612345678", timezone="Europe/Paris")
    campaign = CampaignFactory(channel="sms")
    tuesday_2129_30 = datetime(2026, 12, 1, 20, 29, 30)  # 21:29:30 in Paris

    held = channel.hold_until(sms_runtime.settings, campaign, contact, tuesday_2129_30)

    assert held == datetime(2026, 12, 2, 7, 0)


def test_cancelling_a_campaign_cancels_its_deferred_deliveries(
    db_session: Session, sms_runtime: Runtime
) -> None:
    campaign, contacts = sms_campaign(db_session, {"granted": "+33612345678"}, zone_at_local_hour(3))
    launch.run_batch(sms_runtime, campaign.id, 0)

    lifecycle.cancel(db_session, campaign, "test")

    assert delivery_of(db_session, campaign, contacts["granted"]).status == "cancelled"


def test_the_api_shows_segments_and_refuses_sms_launch_without_twilio(
    client: FlaskClient, api_headers: dict[str, str], db_session: Session
) -> None:
    purpose = PurposeFactory()
    WordingFactory(purpose=purpose)
    lst = ListFactory()
    db_session.commit()
    body = {
        "name": "Soldes",
        "purpose": purpose.slug,
        "channel": "sms",
        "lists": [lst.id],
        "body_text": "Soldes -20% ce week-end !",
    }

    created = client.post("/api/v1/campaigns", json=body, headers=api_headers)

    assert created.status_code == 201, created.get_json()
    preview = created.get_json()["sms"]
    assert preview["encoding"] == "GSM-7"
    assert preview["messages"] == 1
    assert preview["segments"] >= 1
    sent = client.post(f"/api/v1/campaigns/{created.get_json()['id']}/send", headers=api_headers)
    assert sent.status_code == 422
    assert {"TWILIO_ACCOUNT_SID", "SMS_STOP_TEXT"} <= set(sent.get_json()["fields"])


def test_the_api_refuses_a_subject_on_sms_and_a_body_over_ten_segments(
    client: FlaskClient, api_headers: dict[str, str], db_session: Session
) -> None:
    purpose = PurposeFactory()
    WordingFactory(purpose=purpose)
    lst = ListFactory()
    db_session.commit()
    base = {"name": "Soldes", "purpose": purpose.slug, "channel": "sms", "lists": [lst.id]}

    with_subject = client.post(
        "/api/v1/campaigns", json={**base, "subject": "Hi", "body_text": "x"}, headers=api_headers
    )
    too_long = client.post("/api/v1/campaigns", json={**base, "body_text": "ê" * 700}, headers=api_headers)

    assert (with_subject.status_code, list(with_subject.get_json()["fields"])) == (422, ["subject"])
    assert too_long.status_code == 422
    assert "11 segments (UCS-2)" in too_long.get_json()["fields"]["body_text"]
