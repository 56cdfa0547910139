"""Test SMS from an SMS campaign's page: typed numbers read by the one phone rule, the text the worker would
send (mentions included, of the A/B variant picked) marked [TEST] and handed to Twilio (here its stand-in)
after the request commits, a STOPped number refused, the hourly allowance shared with email tests, and no
delivery recorded; and each variant's SMS preview."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sender.models import AbTest, AuditEvent, Campaign, CampaignVariant, Delivery, ListMember, Suppression
from sender.services.messages.preview import TEST_SEND_ACTION
from tests.admin.conftest import csrf_token, post, sign_in
from tests.factories import CampaignFactory, ContactFactory, ListFactory, PurposeFactory
from tests.sms_fixtures import SERVICE_SID, STOP_TEXT, sms_app, sms_runtime, sms_settings, twilio
from tests.twilio_server import TwilioTestServer

__all__ = ["sms_app", "sms_runtime", "sms_settings", "twilio"]

ClientAs = Callable[[str], FlaskClient]
TESTER = "+33612345678"
MEMBER = "+33698765432"
BODY_A = "Soldes -20 %, {{ contact.first_name }} !"
BODY_B = "Ce soir seulement : -30 %, {{ contact.first_name }} !"
# The stand-in deployment's mentions (tests/sms_fixtures.py): the sender's name, then how to stop.
MENTIONS = f"\nExemple\n{STOP_TEXT}"


@pytest.fixture
def sms_as(sms_app: Flask, staff: dict[str, Any]) -> ClientAs:
    """A client of the app with Twilio configured, signed in with the given role."""

    def make(role: str) -> FlaskClient:
        client = sms_app.test_client()
        assert sign_in(client, staff[role].email).status_code == 302
        return client

    return make


def _sms_campaign(db_session: Session, *, variant_b: bool = False) -> Campaign:
    """A draft SMS campaign whose list holds Jeanne (who must never get a test); with variant B if asked."""
    lst = ListFactory()
    member = ContactFactory(first_name="Jeanne", phone=MEMBER)
    db_session.add(ListMember(list_id=lst.id, contact_id=member.id))
    campaign = CampaignFactory(
        channel="sms", subject="", body_html="", body_text=BODY_A, purpose_id=PurposeFactory().id, lists=[lst]
    )
    if variant_b:
        campaign.ab_test = AbTest(
            test_percent=20,
            wait_minutes=240,
            decide_by="manual",
            variants=[CampaignVariant(position=1, body_text=BODY_B)],
        )
    db_session.commit()
    return campaign


def _field_error(body: str, field: str) -> str:
    match = re.search(rf'<span class="error" id="{field}-error">([^<]*)</span>', body)
    assert match, f"no error at {field}"
    return match.group(1)


def _test_sms(client: FlaskClient, campaign_id: int, **data: str) -> Any:
    page = f"/admin/campaigns/{campaign_id}"
    return post(client, f"{page}/test", data, token_page=page)


def _tests_recorded(db_session: Session) -> int:
    return (
        db_session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == TEST_SEND_ACTION)
        )
        or 0
    )


def test_a_test_sms_of_variant_b_reaches_twilio_marked_and_records_no_delivery(
    sms_as: ClientAs, db_session: Session, twilio: TwilioTestServer
) -> None:
    campaign = _sms_campaign(db_session, variant_b=True)
    client = sms_as("marketer")
    page = client.get(f"/admin/campaigns/{campaign.id}?variant=B").get_data(as_text=True)
    assert "Phone numbers for the test" in page
    assert '<option selected value="B">B</option>' in page
    # A national number is read in the default region (FR), as everywhere numbers are typed.
    response = _test_sms(client, campaign.id, address="06 12 34 56 78", variant="B")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("variant=B")
    (sent,) = twilio.received
    assert sent.to == TESTER
    # Variant B's text for the sample contact, marked, with the mentions the worker adds.
    assert sent.body == f"[TEST] Ce soir seulement : -30 %, Camille !{MENTIONS}"
    assert sent.params["MessagingServiceSid"] == SERVICE_SID
    # Sent now and reported to nobody: no quiet-hours validity, no status callback naming a delivery.
    assert "ValidityPeriod" not in sent.params and "StatusCallback" not in sent.params
    assert "Test message sent." in client.get(response.headers["Location"]).get_data(as_text=True)
    # Nothing recorded as a delivery; the audit trail counts the test without the number.
    assert db_session.scalar(select(func.count()).select_from(Delivery)) == 0
    (row,) = db_session.scalars(select(AuditEvent).where(AuditEvent.action == TEST_SEND_ACTION))
    assert (row.subject_type, row.subject_id, row.details) == ("campaign", str(campaign.id), {})
    # Variant A is the campaign's own text.
    assert _test_sms(client, campaign.id, address=TESTER, variant="A").status_code == 302
    assert twilio.received[-1].body == f"[TEST] Soldes -20 %, Camille !{MENTIONS}"
    assert MEMBER not in [received.to for received in twilio.received]


def test_a_bad_number_is_refused_at_its_field_and_nothing_is_sent(
    sms_as: ClientAs, db_session: Session, twilio: TwilioTestServer
) -> None:
    campaign = _sms_campaign(db_session)
    client = sms_as("marketer")
    alone = _test_sms(client, campaign.id, address="06 12")
    assert alone.status_code == 422
    assert _field_error(alone.get_data(as_text=True), "address") == "not a valid phone number for its country"
    several = _test_sms(client, campaign.id, address=f"{TESTER}\nnot a number")
    assert several.status_code == 422
    error = _field_error(several.get_data(as_text=True), "address")
    assert error.startswith("not a number: not a phone number") and TESTER not in error
    too_many = ", ".join(f"+3361234567{n}" for n in range(6))
    refused = _test_sms(client, campaign.id, address=too_many)
    assert refused.status_code == 422
    assert _field_error(refused.get_data(as_text=True), "address") == "at most 5 addresses per test, got 6"
    assert twilio.received == []
    assert _tests_recorded(db_session) == 0


def test_a_number_that_replied_stop_is_refused(
    sms_as: ClientAs, sms_app: Flask, db_session: Session, twilio: TwilioTestServer
) -> None:
    campaign = _sms_campaign(db_session)
    # The tester's number replies STOP to the short code, through Twilio's signed webhook.
    inbound = "/webhooks/twilio/inbound"
    params = twilio.inbound(TESTER, "36123", "STOP")
    headers = twilio.signed(f"https://sender.test{inbound}", params)
    assert sms_app.test_client().post(inbound, data=params, headers=headers).status_code == 200
    assert db_session.scalar(select(Suppression.reason).where(Suppression.channel == "sms")) == "sms_stop"
    response = _test_sms(sms_as("marketer"), campaign.id, address="+33 6 12 34 56 78")
    assert response.status_code == 422
    assert _field_error(response.get_data(as_text=True), "address") == (
        "this address is on the suppression list (sms_stop)"
    )
    assert twilio.received == []
    assert _tests_recorded(db_session) == 0


def test_the_allowance_is_shared_with_email_tests(
    sms_as: ClientAs, sms_runtime: Any, db_session: Session, twilio: TwilioTestServer
) -> None:
    sms_campaign = _sms_campaign(db_session)
    email_campaign = CampaignFactory(purpose_id=PurposeFactory().id, lists=[ListFactory()])
    db_session.commit()
    limit = sms_runtime.settings.test_sends_per_hour
    client = sms_as("marketer")
    token = csrf_token(client, f"/admin/campaigns/{email_campaign.id}")
    each = sms_runtime.settings.composer.test_send_max_addresses
    for start in range(0, limit, each):
        typed = ", ".join(f"n{i}@exemple.org" for i in range(start, min(limit, start + each)))
        data = {"csrf_token": token, "address": typed}
        assert client.post(f"/admin/campaigns/{email_campaign.id}/test", data=data).status_code == 302
    refused = _test_sms(client, sms_campaign.id, address=TESTER)
    assert refused.status_code == 422
    assert _field_error(refused.get_data(as_text=True), "address") == (
        f"at most {limit} test messages per hour; try again later"
    )
    assert twilio.received == []
    # Another user's allowance is untouched.
    assert _test_sms(sms_as("admin"), sms_campaign.id, address=TESTER).status_code == 302
    assert [received.to for received in twilio.received] == [TESTER]


def test_an_sms_test_needs_twilio_configured(client_as: ClientAs, db_session: Session) -> None:
    # The default test deployment has no Twilio account and no STOP text: nothing is tried.
    campaign = _sms_campaign(db_session)
    response = _test_sms(client_as("marketer"), campaign.id, address=TESTER)
    assert response.status_code == 422
    error = _field_error(response.get_data(as_text=True), "address")
    assert error.startswith("the campaign&#39;s channel cannot send until these settings are set: ")
    assert "TWILIO_ACCOUNT_SID" in error and "SMS_STOP_TEXT" in error
    assert _tests_recorded(db_session) == 0


def test_each_variant_s_sms_is_previewed_with_its_length_and_segments(
    sms_as: ClientAs, db_session: Session
) -> None:
    campaign = _sms_campaign(db_session, variant_b=True)
    client = sms_as("dpo")
    page = f"/admin/campaigns/{campaign.id}"
    first = client.get(page).get_data(as_text=True)
    assert 'aria-current="page">Preview of variant A</a>' in first and ">Preview of variant B</a>" in first
    assert f'<pre class="source sms-text">Soldes -20 %, Camille !{MENTIONS}</pre>' in first
    shown = client.get(f"{page}?variant=B").get_data(as_text=True)
    text_b = f"Ce soir seulement : -30 %, Camille !{MENTIONS}"
    assert '<p id="variant-shown"><strong>Variant:</strong> B</p>' in shown
    assert f'<pre class="source sms-text">{text_b}</pre>' in shown
    assert "Soldes -20 %" not in shown.split('id="variant-shown"')[1]
    assert f"Characters: <strong>{len(text_b)}</strong>" in shown
    assert "Encoding: <strong>GSM-7</strong> · Segments: <strong>1</strong>" in shown
    assert client.get(f"{page}?variant=C").status_code == 404
