"""Consent through the API: proof fields, affirmative acts only, double opt-in, and the gate's answer."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sender.db import utcnow
from sender.models import AuditEvent, ConsentEvent, Contact, Purpose
from sender.services.consent import ledger
from tests.api.helpers import NEWSLETTER, WORDING, Api, create_contact, create_purpose, grant
from tests.factories import ContactFactory

PROOF_FIELDS = {
    "occurred_at",
    "source",
    "mechanism",
    "wording_version",
    "wording_text",
    "collection_point",
    "actor",
    "evidence",
    "action",
}


def _events(db_session: Session) -> int:
    return db_session.scalar(select(func.count()).select_from(ConsentEvent)) or 0


def _eligibility(api: Api, contact_id: str, purpose: str = "newsletter", channel: str = "email") -> dict:
    return api.get(f"/contacts/{contact_id}/eligibility", query={"purpose": purpose, "channel": channel})


def test_end_to_end_grant_then_withdraw(api: Api) -> None:
    api.post("/purposes", NEWSLETTER)
    api.post("/purposes/newsletter/wordings", WORDING)
    contact = create_contact(api, email="e2e@example.org")
    cid = contact["id"]
    assert _eligibility(api, cid) == {"eligible": False, "reason": "no_consent"}

    grant(api, cid)
    assert _eligibility(api, cid) == {"eligible": True, "reason": None}

    withdrawal = {
        "purpose": "newsletter",
        "channel": "email",
        "action": "withdraw",
        "source": "unsubscribe_page",
        "mechanism": "link",
    }
    api.post(f"/contacts/{cid}/consents", withdrawal)
    assert _eligibility(api, cid) == {"eligible": False, "reason": "withdrawn"}

    ledger = api.get(f"/contacts/{cid}/consents")
    assert [(s["purpose"], s["channel"], s["status"]) for s in ledger["current"]] == [
        ("newsletter", "email", "withdrawn")
    ]
    assert [e["action"] for e in ledger["history"]] == ["grant", "withdraw"]


def test_grant_returns_the_event_with_every_proof_field(api: Api) -> None:
    create_purpose(api)
    cid = create_contact(api)["id"]
    event = grant(api, cid, evidence={"ip": "203.0.113.77", "form_id": "footer-v3"})
    assert set(event) >= PROOF_FIELDS
    assert event["action"] == "grant"
    assert event["occurred_at"].endswith("Z")
    assert event["source"] == "form"
    assert event["mechanism"] == "checkbox"
    assert event["wording_version"] == 1
    assert event["wording_text"] == WORDING["text"]
    assert event["privacy_notice_version"] == "2024-05"
    assert event["collection_point"] == "signup-form-footer"
    assert event["actor"].startswith("user:")
    assert event["expires_at"].endswith("Z")
    # The address is kept only to its network; the request's user agent completes the evidence.
    assert event["evidence"]["ip"] == "203.0.113.0"
    assert event["evidence"]["form_id"] == "footer-v3"
    assert event["evidence"]["user_agent"]


def test_history_keeps_the_proof(api: Api) -> None:
    create_purpose(api)
    cid = create_contact(api)["id"]
    event = grant(api, cid)
    ledger = api.get(f"/contacts/{cid}/consents")
    assert ledger["history"] == [event]
    [state] = ledger["current"]
    assert state == {
        "purpose": "newsletter",
        "channel": "email",
        "status": "granted",
        "since": event["occurred_at"],
        "expires_at": event["expires_at"],
    }


def test_request_ip_is_truncated_never_stored_whole(api: Api, db_session: Session) -> None:
    create_purpose(api)
    cid = create_contact(api)["id"]
    event = grant(api, cid)
    assert event["evidence"]["ip"] == "127.0.0.0"
    v6 = grant(api, cid, evidence={"ip": "2001:db8:abcd:12::1", "user_agent": "x" * 500})
    assert v6["evidence"]["ip"] == "2001:db8:abcd::"
    assert len(v6["evidence"]["user_agent"]) == 200
    stored = db_session.scalars(select(ConsentEvent.evidence)).all()
    assert all(e["ip"] in ("127.0.0.0", "2001:db8:abcd::") for e in stored)


def test_non_affirmative_mechanisms_are_refused(api: Api, db_session: Session) -> None:
    create_purpose(api)
    cid = create_contact(api)["id"]
    for mechanism in ("pre_ticked", "terms_acceptance", "silence"):
        body = api.post(
            f"/contacts/{cid}/consents",
            {
                "purpose": "newsletter",
                "channel": "email",
                "action": "grant",
                "mechanism": mechanism,
                "wording_version": 1,
            },
            422,
        )
        assert set(body["fields"]) == {"mechanism"}
    assert _events(db_session) == 0
    assert _eligibility(api, cid)["reason"] == "no_consent"


def test_unknown_purpose_is_422_on_purpose(api: Api, db_session: Session) -> None:
    cid = create_contact(api)["id"]
    body = {"purpose": "nope", "channel": "email", "action": "grant", "mechanism": "checkbox"}
    assert set(api.post(f"/contacts/{cid}/consents", body, 422)["fields"]) == {"purpose"}
    assert set(api.post(f"/contacts/{cid}/consents", {**body, "purpose": None}, 422)["fields"]) == {"purpose"}
    assert _events(db_session) == 0


def test_wrong_channel_and_other_bad_values(api: Api, db_session: Session) -> None:
    create_purpose(api)
    cid = create_contact(api)["id"]
    path = f"/contacts/{cid}/consents"
    base = {"purpose": "newsletter", "channel": "email", "action": "grant", "mechanism": "checkbox"}
    assert set(api.post(path, {**base, "channel": "fax", "wording_version": 1}, 422)["fields"]) == {"channel"}
    assert set(api.post(path, {**base, "action": "maybe", "wording_version": 1}, 422)["fields"]) >= {"action"}
    assert set(api.post(path, {**base, "source": "rumour", "wording_version": 1}, 422)["fields"]) == {
        "source"
    }
    assert set(api.post(path, base, 422)["fields"]) == {"wording_version"}
    assert set(api.post(path, {**base, "wording_version": 9}, 422)["fields"]) == {"wording_version"}
    assert set(api.post(path, {**base, "wording_version": "1"}, 422)["fields"]) == {"wording_version"}
    assert set(api.post(path, {**base, "wording_version": 1, "evidence": {"email": "x"}}, 422)["fields"]) == {
        "evidence"
    }
    assert set(api.post(path, {**base, "wording_version": 1, "evidence": {"ip": "nope"}}, 422)["fields"]) == {
        "evidence"
    }
    fields = api.post(path, {"purpose": "nope", "channel": 3, "extra": 1}, 422)["fields"]
    assert set(fields) == {"purpose", "channel", "action", "mechanism", "extra"}
    assert _events(db_session) == 0


def test_unknown_contact_is_404(api: Api) -> None:
    create_purpose(api)
    api.post("/contacts/nobody/consents", {"purpose": "newsletter"}, 404)
    api.get("/contacts/nobody/consents", 404)
    api.get("/contacts/nobody/eligibility", 404, query={"purpose": "newsletter", "channel": "email"})


def test_eligibility_needs_a_known_purpose_and_channel(api: Api) -> None:
    create_purpose(api)
    cid = create_contact(api)["id"]
    path = f"/contacts/{cid}/eligibility"
    assert set(api.get(path, 422)["fields"]) == {"purpose", "channel"}
    assert set(api.get(path, 422, query={"purpose": "newsletter", "channel": "fax"})["fields"]) == {"channel"}
    assert set(api.get(path, 422, query={"purpose": "nope", "channel": "sms"})["fields"]) == {"purpose"}


def test_consent_is_per_purpose_and_channel(api: Api) -> None:
    create_purpose(api)
    create_purpose(api, slug="partner-offers", name="Partner offers")
    cid = create_contact(api, email="r1@example.org", phone="+33612345678")["id"]
    grant(api, cid)
    assert _eligibility(api, cid)["eligible"] is True
    assert _eligibility(api, cid, channel="sms") == {"eligible": False, "reason": "no_consent"}
    assert _eligibility(api, cid, purpose="partner-offers") == {"eligible": False, "reason": "no_consent"}


def test_double_opt_in_purpose_waits_for_confirmation(api: Api) -> None:
    create_purpose(api, slug="partner-offers", requires_double_opt_in=True)
    cid = create_contact(api)["id"]
    first = grant(api, cid, purpose="partner-offers")
    assert first["action"] == "request"
    assert first["expires_at"] is None
    assert _eligibility(api, cid, purpose="partner-offers") == {
        "eligible": False,
        "reason": "pending_confirmation",
    }
    assert api.get(f"/contacts/{cid}/consents")["current"][0]["status"] == "pending"

    # Only the person's click on a confirmation link proves a double opt-in (R53): the API cannot claim one.
    body = {"purpose": "partner-offers", "channel": "email", "action": "grant", "wording_version": 1}
    for claim in (
        {"source": "double_opt_in", "mechanism": "double_opt_in"},
        {"source": "form", "mechanism": "double_opt_in"},
    ):
        refused = api.post(f"/contacts/{cid}/consents", {**body, **claim}, status=422)
        assert "double_opt_in" in refused["fields"].get("mechanism", refused["fields"].get("source", ""))
    assert api.get(f"/contacts/{cid}/consents")["current"][0]["status"] == "pending"


def test_lapsed_grant_reads_as_expired(api: Api, db_session: Session) -> None:
    create_purpose(api)
    cid = create_contact(api)["id"]
    contact = db_session.scalar(select(Contact).where(Contact.public_id == cid))
    purpose = db_session.scalar(select(Purpose).where(Purpose.slug == "newsletter"))
    assert contact is not None and purpose is not None
    ledger.record(
        db_session,
        contact,
        purpose,
        channel="email",
        action="grant",
        source="import",
        mechanism="signed_form",
        actor="test",
        wording_version=1,
        at=utcnow() - timedelta(days=731),
    )
    db_session.commit()
    assert api.get(f"/contacts/{cid}/consents")["current"][0]["status"] == "expired"
    assert _eligibility(api, cid) == {"eligible": False, "reason": "expired"}


def test_erased_contact_cannot_consent(api: Api) -> None:
    create_purpose(api)
    erased = ContactFactory(status="erased", email=None, email_hash=None, erased_at=utcnow())
    body = api.post(
        f"/contacts/{erased.public_id}/consents",
        {
            "purpose": "newsletter",
            "channel": "email",
            "action": "grant",
            "mechanism": "checkbox",
            "wording_version": 1,
        },
        422,
    )
    assert "contact" in body["fields"]
    assert _eligibility(api, erased.public_id) == {"eligible": False, "reason": "erased"}


def test_dpo_reads_but_cannot_record(api: Api, dpo_headers: dict[str, str], db_session: Session) -> None:
    create_purpose(api)
    cid = create_contact(api)["id"]
    body = {
        "purpose": "newsletter",
        "channel": "email",
        "action": "grant",
        "mechanism": "checkbox",
        "wording_version": 1,
    }
    api.post(f"/contacts/{cid}/consents", body, 403, headers=dpo_headers)
    assert _events(db_session) == 0
    assert api.get(f"/contacts/{cid}/consents", headers=dpo_headers) == {"current": [], "history": []}
    assert (
        api.get(
            f"/contacts/{cid}/eligibility",
            headers=dpo_headers,
            query={"purpose": "newsletter", "channel": "email"},
        )["eligible"]
        is False
    )


def test_consent_writes_are_audited_with_ids_only(api: Api, db_session: Session) -> None:
    create_purpose(api)
    cid = create_contact(api, email="audited@example.org")["id"]
    grant(api, cid)
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "consent.grant"))
    assert event is not None
    assert (event.subject_type, event.subject_id) == ("contact", cid)
    assert event.details["purpose"] == "newsletter"
    assert event.details["channel"] == "email"
    assert "audited@example.org" not in str(event.details)
