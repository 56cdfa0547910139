"""The Art. 15 report reads its recipients and transfers from the processors inventory (R76)."""

from __future__ import annotations

from datetime import date

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from sender.runtime import Runtime
from sender.services.consent.links import portal_token
from sender.services.records import processors
from tests.factories import ContactFactory
from tests.public.conftest import Portal, World
from tests.sms_fixtures import sms_app, sms_client, sms_runtime, sms_settings, twilio  # noqa: F401


def test_the_report_lists_twilio_with_the_safeguard_and_contract_the_inventory_holds(
    sms_client: FlaskClient,  # noqa: F811
    runtime: Runtime,
    db_session: Session,
    world: World,
) -> None:
    facts = processors.Facts(
        "Twilio Ireland Ltd", "delivers SMS", "US", "dpf", "Twilio DPA v7", date(2024, 3, 1)
    )
    processors.record(db_session, "sms", facts, "test")
    contact = ContactFactory(email="sms.person@example.org", phone="+33612345678")
    db_session.commit()
    person = Portal(sms_client, f"/p/{portal_token(runtime.tokens, contact.public_id)}")
    person.act("report")
    assert "Twilio Ireland Ltd" in person.html
    assert "EU-US Data Privacy Framework (adequacy decision, GDPR Art. 45)" in person.html
    assert "processing agreement Twilio DPA v7" in person.html
