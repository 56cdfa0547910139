"""The breach register and the proofs in the staff pages, over HTTP: the countdown on the dashboard across a
clock change, a late notification refused at its field without reasons, the printable exports."""

from __future__ import annotations

import json
from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from sender.models import AuditEvent, BreachIncident
from sender.services.consent import ledger
from tests.admin.conftest import post
from tests.campaign_helpers import grant
from tests.factories import ContactFactory, PurposeFactory, WordingFactory


def _record(client: FlaskClient, aware_at: str) -> int:
    response = post(
        client,
        "/admin/breaches",
        {
            "title": "Stolen export",
            "facts": "A CSV export of contacts was stolen from a laptop.",
            "data_categories": "email, first name",
            "people_affected": "1200",
            "records_affected": "1300",
            "likely_consequences": "Phishing.",
            "measures_taken": "Passwords reset; laptop wiped remotely.",
            "aware_at": aware_at,
        },
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return int(response.headers["Location"].rsplit("/", 1)[1])


def test_the_dashboard_counts_down_in_the_organisations_zone_across_a_clock_change(
    client_as: Callable[[str], FlaskClient], db_session: Session
) -> None:
    dpo = client_as("dpo")
    # Typed in Paris time the Friday before the clocks went forward: 72 hours later is 11:00 Paris time.
    incident_id = _record(dpo, "2026-03-27T10:00")
    incident = db_session.get(BreachIncident, incident_id)
    assert incident is not None and incident.aware_at.isoformat() == "2026-03-27T09:00:00"
    page = dpo.get("/admin/").get_data(as_text=True)
    assert 'id="breach-countdown"' in page
    assert "deadline 2026-03-30 11:00 CEST passed" in page
    # Marketers see no countdown, and cannot open the register.
    marketer = client_as("marketer")
    assert 'id="breach-countdown"' not in marketer.get("/admin/").get_data(as_text=True)
    assert marketer.get(f"/admin/breaches/{incident_id}").status_code == 403


def test_a_late_notification_is_refused_at_its_field_without_reasons(
    client_as: Callable[[str], FlaskClient], db_session: Session
) -> None:
    dpo = client_as("dpo")
    incident_id = _record(dpo, "2026-11-02T09:00")
    late = {"notified_at": "2026-11-05T10:00", "reference": "CNIL-2026-17"}
    refused = post(dpo, f"/admin/breaches/{incident_id}/notification", late)
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert 'id="late_reasons-error"' in page and "past the 72-hour deadline" in page
    incident = db_session.get(BreachIncident, incident_id)
    assert incident is not None and incident.notified_at is None

    reasons = {**late, "late_reasons": "The stolen laptop was reported a day late."}
    assert post(dpo, f"/admin/breaches/{incident_id}/notification", reasons).status_code == 303
    db_session.expire_all()
    incident = db_session.get(BreachIncident, incident_id)
    assert incident is not None and incident.late_reasons == "The stolen laptop was reported a day late."

    printable = dpo.get(f"/admin/breaches/{incident_id}/notification.html").get_data(as_text=True)
    for text in (
        "A CSV export of contacts was stolen",
        "email, first name",
        "1200",
        "1300",
        "Phishing.",
        "Passwords reset",
        "The stolen laptop was reported a day late.",
    ):
        assert text in printable
    exported = json.loads(dpo.get(f"/admin/breaches/{incident_id}/notification.json").get_data())
    assert exported["late"] is True and exported["approximate_people_affected"] == 1200
    actions = [e.action for e in db_session.query(AuditEvent).filter_by(subject_type="breach")]
    assert actions == ["breach.create", "breach.notify", "breach.export", "breach.export"]


def test_the_contact_page_exports_the_proofs_of_consent_and_honouring(
    client_as: Callable[[str], FlaskClient], db_session: Session
) -> None:
    purpose = PurposeFactory()
    WordingFactory(purpose=purpose, text="Yes, send me the monthly letter.\nOnce a month, no more.")
    contact = ContactFactory()
    grant(db_session, contact, purpose)
    ledger.record(
        db_session,
        contact,
        purpose,
        channel="email",
        action="withdraw",
        source="one_click",
        mechanism="one_click",
        actor="contact",
    )
    db_session.commit()
    dpo = client_as("dpo")
    page = dpo.get(f"/admin/contacts/{contact.public_id}").get_data(as_text=True)
    assert 'id="proof-exports"' in page
    proof = dpo.get(f"/admin/contacts/{contact.public_id}/consent-proof.html").get_data(as_text=True)
    assert "Yes, send me the monthly letter.\nOnce a month, no more." in proof
    honoured = json.loads(dpo.get(f"/admin/contacts/{contact.public_id}/honouring.json").get_data())
    assert [(w["kind"], w["marketing_after"]) for w in honoured["withdrawals"]] == [("opt_out", [])]
    assert honoured["exceptions"] == 0
    period = dpo.get("/admin/honouring").get_data(as_text=True)
    assert 'id="honouring-period"' in period and "1 withdrawals in the period; 0 marketing" in period
    assert client_as("marketer").get(f"/admin/contacts/{contact.public_id}/honouring.json").status_code == 403
