"""Signed Twilio webhooks holding what no Twilio request holds: a precise 400, never a 500, nothing recorded."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sender.models import Delivery, InboundSms
from tests.factories import CampaignFactory, ContactFactory, PurposeFactory
from tests.sms_fixtures import sms_app, sms_client, sms_runtime, sms_settings, twilio
from tests.twilio_server import TwilioTestServer

__all__ = ["sms_app", "sms_client", "sms_runtime", "sms_settings", "twilio"]

PUBLIC = "https://sender.test"
INBOUND = "/webhooks/twilio/inbound"
STATUS = "/webhooks/twilio/status"
SID = "SM" + "1" * 32


def signed_post(client: FlaskClient, twilio: TwilioTestServer, path: str, params: dict[str, str]) -> Any:
    """POST `params` with Twilio's valid signature for the public URL of `path` (query included)."""
    return client.post(path, data=params, headers=twilio.signed(f"{PUBLIC}{path}", params))


@pytest.fixture
def sent(db_session: Session) -> Delivery:
    """An SMS delivery Twilio accepted, with no status yet."""
    contact = ContactFactory(phone="+33612345678")
    campaign = CampaignFactory(purpose_id=PurposeFactory().id, channel="sms", status="sending")
    row = Delivery(campaign_id=campaign.id, contact_id=contact.id, status="sent", provider_id=SID)
    db_session.add(row)
    db_session.commit()
    return row


@pytest.mark.parametrize(
    ("query", "sid", "field"),
    [
        (f"?d={10**20}", SID, "d"),
        ("?d=%C2%B2", SID, "d"),  # a superscript two: a digit to str.isdigit, not to int()
        ("?d=" + "9" * 5000, SID, "d"),
        ("", "SM\x001", "MessageSid"),
        ("", "SM" + "1" * 4998, "MessageSid"),
    ],
)
def test_a_status_callback_that_no_message_could_send_is_400_naming_the_field(
    sms_client: FlaskClient,
    twilio: TwilioTestServer,
    db_session: Session,
    sent: Delivery,
    query: str,
    sid: str,
    field: str,
) -> None:
    response = signed_post(sms_client, twilio, STATUS + query, twilio.status_callback(sid, "delivered"))

    assert response.status_code == 400
    assert field in response.get_json()["fields"]
    db_session.refresh(sent)
    assert sent.provider_status is None


@pytest.mark.parametrize(
    ("field", "value"), [("MessageSid", "SM\x001"), ("MessageSid", "SM" + "1" * 4998), ("Body", "STOP\x00")]
)
def test_an_inbound_message_that_no_phone_could_send_is_400_naming_the_field(
    sms_client: FlaskClient, twilio: TwilioTestServer, db_session: Session, field: str, value: str
) -> None:
    params = {**twilio.inbound("+33612345678", "36123", "STOP"), field: value}

    response = signed_post(sms_client, twilio, INBOUND, params)

    assert response.status_code == 400
    assert field in response.get_json()["fields"]
    assert db_session.scalar(select(func.count()).select_from(InboundSms)) == 0
