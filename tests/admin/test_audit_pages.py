"""The DPO's audit trail pages: read, filter, export and verify the trail; views and exports of personal
data are on it; marketers are kept out (R73)."""

from __future__ import annotations

import json
from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from sender.models import AuditEvent
from sender.services.records import audit
from tests.admin.conftest import post
from tests.factories import CampaignFactory, ContactFactory


def _events(db_session: Session, action: str) -> list[AuditEvent]:
    return list(db_session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_marketers_cannot_read_the_trail(client_as: Callable[[str], FlaskClient]) -> None:
    marketer = client_as("marketer")
    assert marketer.get("/admin/audit").status_code == 403
    assert marketer.get("/admin/audit/export.csv").status_code == 403
    assert "/admin/audit" not in marketer.get("/admin/").get_data(as_text=True)


def test_a_staff_view_of_a_contact_is_on_the_trail_and_found_by_filter(
    client_as: Callable[[str], FlaskClient], db_session: Session
) -> None:
    contact = ContactFactory()
    marketer = client_as("marketer")
    assert marketer.get(f"/admin/contacts/{contact.public_id}").status_code == 200
    dpo = client_as("dpo")

    page = dpo.get(f"/admin/audit?action=contact&subject={contact.public_id}").get_data(as_text=True)

    (view,) = _events(db_session, "contact.view")
    assert view.subject_id == contact.public_id and view.actor.startswith("user:")
    assert "contact.view" in page and contact.public_id in page
    # Ids only: the person's address is neither in the event nor on the page.
    assert contact.email not in json.dumps(view.details) and contact.email not in page


def test_a_bad_filter_is_refused_at_its_field(client_as: Callable[[str], FlaskClient]) -> None:
    response = client_as("dpo").get("/admin/audit?since=yesterday")
    assert response.status_code == 400
    assert 'id="since-error"' in response.get_data(as_text=True)


def test_exports_carry_the_chain_and_are_audited(
    client_as: Callable[[str], FlaskClient], db_session: Session
) -> None:
    campaign = CampaignFactory()
    marketer = client_as("marketer")
    assert marketer.get(f"/admin/campaigns/{campaign.id}/deliveries.csv").status_code == 200
    audit.seal(db_session)
    dpo = client_as("dpo")

    as_json = json.loads(dpo.get("/admin/audit/export.json?action=export").get_data(as_text=True))
    as_csv = dpo.get("/admin/audit/export.csv?action=export").get_data(as_text=True).splitlines()

    (exported,) = [e for e in as_json if e["action"] == "export.deliveries"]
    assert exported["subject_id"] == str(campaign.id) and exported["hash"]
    assert as_csv[0].startswith("id,seq,occurred_at,actor,action")
    assert any(",export.deliveries," in line for line in as_csv[1:])
    # The DPO's own exports are on the trail too.
    assert {e.details["format"] for e in _events(db_session, "audit.export")} == {"json", "csv"}


def test_verify_now_records_the_result_shown_on_the_dashboard(
    client_as: Callable[[str], FlaskClient], db_session: Session
) -> None:
    ContactFactory()
    dpo = client_as("dpo")
    dpo.get("/admin/audit")
    response = post(dpo, "/admin/audit/verify", token_page="/admin/audit")
    assert response.status_code == 302
    assert "intact" in dpo.get("/admin/").get_data(as_text=True)

    # Someone edits a sealed event behind the application's back.
    target = db_session.scalar(select(AuditEvent.id).where(AuditEvent.seq.is_not(None)).limit(1))
    db_session.execute(text("UPDATE audit_events SET actor = 'user:0' WHERE id = :id"), {"id": target})
    post(dpo, "/admin/audit/verify", token_page="/admin/audit")

    assert "tampered with" in dpo.get("/admin/").get_data(as_text=True)
    assert f"audit event {target} was edited" in dpo.get("/admin/audit").get_data(as_text=True)
