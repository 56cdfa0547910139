"""The Art. 34 communication of a breach as a `legal_notice` campaign, from the API to the SMTP wire through a
real worker: no marketing consent needed, never to erased contacts, no promotion, and the DPO's approval."""

from __future__ import annotations

from collections import Counter

import pytest

from sender.db import utcnow
from sender.models import ListMember
from sender.services.accounts import users
from tests.campaign_helpers import build_audience
from tests.factories import ContactFactory

pytestmark = pytest.mark.e2e

NOTICE = {
    "name": "Breach notice",
    "kind": "legal_notice",
    "subject": "About your personal data",
    "body_text": "Hello {{ contact.first_name }},\nan export of our contact list was stolen on 1 December. "
    "It held your name and email address. Beware of messages asking for your password.",
    "body_html": "<p>Hello {{ contact.first_name }},</p><p>an export of our contact list was stolen.</p>",
}


def _recipients(stack) -> Counter[str]:
    return Counter(received.rcpt_tos[0] for received in stack.mail.messages)


def test_a_legal_notice_reaches_everyone_told_but_the_erased_only_once_approved(stack) -> None:
    audience = build_audience(stack.session, eligible=1)
    erased = ContactFactory(status="erased", erased_at=utcnow())
    stack.session.add(ListMember(list_id=audience.lst.id, contact_id=erased.id))
    dpo = users.create_user(stack.session, "dpo@exemple.org", "dpo", "correct horse battery")
    dpo_headers = {"Authorization": f"Bearer {users.issue_token(stack.session, dpo).value}"}
    stack.session.commit()

    def as_dpo(method: str, path: str, body: dict | None = None):
        return stack.client.open(f"/api/v1{path}", method=method, json=body, headers=dpo_headers)

    incident = as_dpo(
        "POST",
        "/breaches",
        {
            "title": "Stolen export",
            "facts": "A CSV export was stolen.",
            "high_risk": True,
            "aware_at": "2026-12-01T09:00:00+01:00",
        },
    )
    assert incident.status_code == 201, incident.get_json()
    incident_id = incident.get_json()["id"]

    def campaign(**changes: str) -> int:
        body = {**NOTICE, **changes, "purpose": audience.purpose.slug, "lists": [audience.lst.id]}
        created = stack.api("POST", "/campaigns", body)
        assert created.status_code == 201, created.get_json()
        return created.get_json()["id"]

    # Promotion is refused, at the field and line, when the notice is recorded against the incident.
    selling = campaign(body_text="We are sorry.\nAs an apology, get 20% off your next order.")
    refused = as_dpo("POST", f"/breaches/{incident_id}/notices", {"campaign_id": selling})
    assert refused.status_code == 422
    assert refused.get_json()["fields"]["body_text"].startswith("line 2: promotional wording '20%'")
    assert "a legal notice" in refused.get_json()["fields"]["body_text"]

    notice = campaign()
    # Not recorded against an incident: it cannot go.
    unrecorded = stack.api("POST", f"/campaigns/{notice}/send")
    assert unrecorded.status_code == 422 and "incident" in unrecorded.get_json()["fields"]
    assert as_dpo("POST", f"/breaches/{incident_id}/notices", {"campaign_id": notice}).status_code == 201
    # Not approved by the DPO: it cannot go either.
    unapproved = stack.api("POST", f"/campaigns/{notice}/send")
    assert unapproved.status_code == 422
    assert unapproved.get_json()["fields"] == {
        "approval": "a legal notice cannot be sent without the DPO's approval"
    }
    # Marketers cannot approve it.
    approval = f"/breaches/{incident_id}/notices/{notice}/approval"
    assert stack.api("POST", approval, {"note": "Mine."}).status_code == 403
    approved = as_dpo("POST", approval, {"note": "Required by Art. 34: high risk to the people affected."})
    assert approved.status_code == 200, approved.get_json()

    sent = stack.api("POST", f"/campaigns/{notice}/send")
    assert sent.status_code == 202, sent.get_json()
    assert sent.get_json()["skipped"] == {"erased": 1, "no_address": 1}
    stack.worker()

    # No consent, withdrawn, expired, suppressed for marketing and restricted are all told; once each.
    told = ("eligible0", "no_consent", "withdrawn", "expired", "suppressed", "restricted")
    assert _recipients(stack) == Counter({audience.contacts[k].email: 1 for k in told})
    assert erased.email not in _recipients(stack)

    export = as_dpo("GET", f"/breaches/{incident_id}/notification").get_json()
    (communication,) = export["communications"]
    assert communication["campaign_id"] == notice
    assert (communication["sent"], communication["skipped"]) == (6, 2)
