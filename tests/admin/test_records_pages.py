"""Staff pages of the accountability records: register, processors inventory, DPIA, and the launch pages."""

from __future__ import annotations

import html
from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.models import AuditEvent, Campaign, ProcessorEntry, PurposeDpia
from tests.admin.conftest import post
from tests.factories import CampaignFactory, ListFactory, PurposeFactory, WordingFactory


def _text(client: FlaskClient, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return html.unescape(response.get_data(as_text=True))


def test_the_register_page_marks_incomplete_entries_and_exports(
    client_as: Callable[[str], FlaskClient], db_session: Session
) -> None:
    PurposeFactory(slug="offers", name="Partner offers", data_categories=[])
    db_session.commit()
    dpo = client_as("dpo")
    page = _text(dpo, "/admin/register")
    assert "1 of 8 entries are incomplete." in page
    assert 'id="entry-purpose-offers"' in page and "data_categories" in page
    assert "Staff accounts" in page and "Campaign sending (sms)" in page
    printable = dpo.get("/admin/register/export.html")
    assert printable.mimetype == "text/html" and b"Partner offers" in printable.data
    assert dpo.get("/admin/register/export.json").get_json()["activities"][0]["key"] == "purpose:offers"
    assert dpo.get("/admin/register/export.pdf").status_code == 404


def test_a_processor_is_completed_from_its_form_and_bad_facts_are_named(
    client_as: Callable[[str], FlaskClient], db_session: Session
) -> None:
    admin = client_as("admin")
    assert "No processor" in _text(admin, "/admin/processors")
    bad = {"name": "Cloud Inc.", "role": "hosting", "country": "US", "transfer_mechanism": "eea"}
    refused = post(admin, "/admin/processors/hosting", bad, token_page="/admin/")
    assert refused.status_code == 422
    assert "US is outside the EEA" in html.unescape(refused.get_data(as_text=True))
    assert db_session.scalar(select(ProcessorEntry)) is None
    good = {**bad, "transfer_mechanism": "scc", "contract_ref": "DPA-1", "since": "2024-05-01"}
    saved = post(admin, "/admin/processors/hosting", good, token_page="/admin/")
    assert saved.status_code == 302 and saved.headers["Location"].endswith("/admin/processors")
    page = _text(admin, "/admin/processors")
    assert "Cloud Inc." in page and "Standard contractual clauses" in page and "DPA-1" in page
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "processor.create"))
    assert event is not None and event.details == {}


def test_the_campaign_pages_say_why_a_dpia_blocks_the_launch(
    client_as: Callable[[str], FlaskClient], db_session: Session
) -> None:
    purpose = PurposeFactory(slug="scoring", name="Scoring")
    WordingFactory(purpose=purpose)
    campaign = CampaignFactory(purpose_id=purpose.id, lists=[ListFactory()])
    db_session.commit()
    dpo, marketer = client_as("dpo"), client_as("marketer")
    marked = post(dpo, "/admin/purposes/scoring/dpia", {"reasons": ["profiling"]}, token_page="/admin/")
    assert marked.status_code == 302
    for url in (f"/admin/campaigns/{campaign.id}", f"/admin/campaigns/{campaign.id}/send"):
        page = _text(marketer, url)
        assert "DPIA required" in page and "a DPIA is required (profiling)" in page
    assert "Send to" not in page  # the confirmation offers no button the launch would refuse
    sent = post(marketer, f"/admin/campaigns/{campaign.id}/send", {"confirm": "yes"}, token_page="/admin/")
    assert sent.status_code == 303
    db_session.expire_all()
    assert db_session.get(Campaign, campaign.id).status == "draft"  # type: ignore[union-attr]
    record = {
        "reasons": ["profiling"],
        "reference": "DPIA-2025-3",
        "assessed_on": "2025-10-01",
        "outcome": "acceptable",
        "reviewer": "DPO",
    }
    assert post(dpo, "/admin/purposes/scoring/dpia", record, token_page="/admin/").status_code == 302
    row = db_session.get(PurposeDpia, purpose.id)
    assert row is not None and row.reference == "DPIA-2025-3"
    assert "DPIA required" not in _text(marketer, f"/admin/campaigns/{campaign.id}")


def test_a_dpia_record_without_its_date_is_refused_field_by_field(
    client_as: Callable[[str], FlaskClient], db_session: Session
) -> None:
    PurposeFactory(slug="scoring")
    db_session.commit()
    dpo = client_as("dpo")
    record = {"reasons": ["external_data"], "reference": "DPIA-9", "outcome": "acceptable", "reviewer": ""}
    refused = post(dpo, "/admin/purposes/scoring/dpia", record, token_page="/admin/")
    assert refused.status_code == 422
    page = html.unescape(refused.get_data(as_text=True))
    assert "is required" in page and "must be 1 to 200 characters" in page
    db_session.expire_all()
    assert db_session.scalar(select(PurposeDpia)) is None
