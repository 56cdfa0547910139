"""The breach register and the proofs through the API, every answer checked against the OpenAPI document."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from sender.models import Campaign
from tests.api.helpers import WORDING, Api, create_contact, create_purpose, grant
from tests.api.test_campaigns import BODY

INCIDENT = {
    "title": "Stolen export",
    "facts": "A CSV export was stolen.",
    "data_categories": ["email"],
    "people_affected": 40,
    "records_affected": 41,
    "likely_consequences": "Phishing.",
    "measures_taken": "Tokens revoked.",
    "aware_at": "2026-11-02T10:00:00+01:00",
}


def test_an_incident_its_late_notification_and_its_export(api: Api) -> None:
    incident = api.post("/breaches", INCIDENT)
    assert (incident["aware_at"], incident["deadline"]) == ("2026-11-02T09:00:00Z", "2026-11-05T09:00:00Z")
    late = {"notified_at": "2026-11-05T10:30:00+01:00"}
    refused = api.post(f"/breaches/{incident['id']}/notification", late, 422)
    assert list(refused["fields"]) == ["late_reasons"]
    notified = api.post(
        f"/breaches/{incident['id']}/notification", {**late, "late_reasons": "Scope unknown."}, 200
    )
    assert notified["late"] is True and notified["late_reasons"] == "Scope unknown."
    export = api.get(f"/breaches/{incident['id']}/notification")
    assert export["nature"] == "A CSV export was stolen."
    assert (export["approximate_people_affected"], export["approximate_records_affected"]) == (40, 41)
    assert export["communications"] == []
    assert [i["id"] for i in api.get("/breaches")["items"]] == [incident["id"]]


def test_a_bad_incident_is_refused_field_by_field(api: Api) -> None:
    body = {**INCIDENT, "people_affected": -1, "aware_at": "yesterday", "title": " "}
    refused = api.post("/breaches", body, 422)
    assert set(refused["fields"]) == {"people_affected", "aware_at", "title"}
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert api.post("/breaches", {**INCIDENT, "aware_at": future}, 422)["fields"] == {
        "aware_at": "cannot be in the future"
    }


def test_a_legal_notice_edited_after_its_approval_must_be_approved_again(
    api: Api, db_session: Session
) -> None:
    create_purpose(api)
    lst = api.post("/lists", {"name": "All"})
    incident = api.post("/breaches", INCIDENT)
    notice = api.post(
        "/campaigns", {**BODY, "kind": "legal_notice", "purpose": "newsletter", "lists": [lst["id"]]}
    )
    api.post(f"/breaches/{incident['id']}/notices", {"campaign_id": notice["id"]})
    api.post(f"/breaches/{incident['id']}/notices/{notice['id']}/approval", {"note": "Art. 34."}, 200)
    # The composer's edit of the draft (the staff page), after the approval.
    campaign = db_session.get(Campaign, notice["id"])
    assert campaign is not None
    campaign.body_text = "Hello, your data was exposed. Details inside."
    db_session.commit()
    refused = api.post(f"/campaigns/{notice['id']}/send", None, 422)
    assert refused["fields"] == {
        "approval": "the notice was edited after its approval: the DPO must approve it again"
    }


def test_the_proofs_of_consent_and_honouring(api: Api) -> None:
    create_purpose(api)
    contact = create_contact(api)
    grant(api, contact["id"])
    grant(api, contact["id"], action="withdraw", source="api", mechanism="api", wording_version=None)
    proof: dict[str, Any] = api.get(f"/contacts/{contact['id']}/consent-proof")
    grant_event = proof["events"][0]
    assert grant_event["wording_text"] == WORDING["text"]
    assert grant_event["privacy_notice_version"] == WORDING["privacy_notice_version"]
    honoured = api.get(f"/contacts/{contact['id']}/honouring")
    assert [w["kind"] for w in honoured["withdrawals"]] == ["opt_out"] and honoured["exceptions"] == 0
    day = datetime.now(UTC)
    period = api.get(
        "/honouring",
        query={
            "since": (day - timedelta(days=1)).isoformat(),
            "until": (day + timedelta(days=1)).isoformat(),
        },
    )
    assert (period["withdrawals"], period["marketing_after_withdrawal"], period["exceptions"]) == (1, 0, [])
    assert list(api.get("/honouring", status=422)["fields"]) == ["since", "until"]
