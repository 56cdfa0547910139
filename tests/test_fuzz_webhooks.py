"""Fuzz the Twilio webhooks with valid signatures: hostile fields and ?d= never get a 5xx or change a table."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from sender.models import Delivery
from tests.db_snapshot import RefusalsChangeNothing
from tests.factories import CampaignFactory, ContactFactory, PurposeFactory
from tests.fuzz_values import FORM_TEXT, bounded, overrides
from tests.sms_fixtures import sms_app, sms_client, sms_runtime, sms_settings, twilio
from tests.twilio_server import TwilioTestServer

__all__ = ["sms_app", "sms_client", "sms_runtime", "sms_settings", "twilio"]

EXAMPLES_PER_WEBHOOK = 25
PUBLIC = "https://sender.test"
PHONE = "+33612345678"
SID = "SM" + "1" * 32
# Text only: Twilio signs the decoded values, so the test signs what the app will read.
VALUE = st.one_of(
    FORM_TEXT, st.text(max_size=12).filter(lambda s: not any(0xD800 <= ord(c) <= 0xDFFF for c in s))
)


def _check(
    client: FlaskClient,
    twilio: TwilioTestServer,
    guard: RefusalsChangeNothing,
    path: str,
    params: dict[str, str],
) -> None:
    guard.before()
    response = client.post(path, data=params, headers=twilio.signed(f"{PUBLIC}{path}", params))
    assert response.status_code != 403, "the signature must be valid for the fuzz to reach the view"
    assert response.status_code < 500, (path, params)
    guard.after(response.status_code, (path, params))


def test_signed_inbound_and_status_callbacks(
    sms_client: FlaskClient, twilio: TwilioTestServer, db_session: Session
) -> None:
    contact = ContactFactory(phone=PHONE)
    campaign = CampaignFactory(purpose_id=PurposeFactory().id, channel="sms", status="sending")
    delivery = Delivery(campaign_id=campaign.id, contact_id=contact.id, status="sent", provider_id=SID)
    db_session.add(delivery)
    db_session.commit()
    guard = RefusalsChangeNothing(db_session)
    inbound_base = twilio.inbound(PHONE, "36123", "STOP")
    status_base = twilio.status_callback(SID, "delivered", error_code=30003)

    @bounded(EXAMPLES_PER_WEBHOOK)
    @given(changes=overrides(sorted(inbound_base), VALUE))
    def inbound(changes: dict[str, Any]) -> None:
        _check(sms_client, twilio, guard, "/webhooks/twilio/inbound", {**inbound_base, **changes})

    @bounded(EXAMPLES_PER_WEBHOOK)
    @given(changes=overrides(sorted(status_base), VALUE), d=st.one_of(st.just(str(delivery.id)), FORM_TEXT))
    def status(changes: dict[str, Any], d: str) -> None:
        path = f"/webhooks/twilio/status?d={quote(d, safe='')}"
        _check(sms_client, twilio, guard, path, {**status_base, **changes})

    inbound()
    status()
