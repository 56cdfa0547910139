"""Purposes (Art. 30 register entries) and their immutable wording versions."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sender.models import AuditEvent, ConsentWording, Purpose
from tests.api.helpers import NEWSLETTER, WORDING, Api, create_purpose


def test_create_get_and_list(api: Api) -> None:
    created = api.post("/purposes", NEWSLETTER)
    assert {k: created[k] for k in NEWSLETTER} == NEWSLETTER
    assert created["created_at"].endswith("Z")
    assert api.get("/purposes/newsletter") == created
    assert api.get("/purposes") == {"items": [created]}


def test_create_answers_with_location(api: Api) -> None:
    response = api.client.post("/api/v1/purposes", json=NEWSLETTER, headers=api.headers)
    assert response.status_code == 201
    assert response.headers["Location"].endswith("/api/v1/purposes/newsletter")


def test_defaults(api: Api) -> None:
    created = api.post("/purposes", {"slug": "events", "name": "Events", "description": "Invitations."})
    assert created["legal_basis"] == "consent"
    assert created["retention_days"] == 1095
    assert created["consent_validity_days"] == 1095
    assert created["requires_double_opt_in"] is False
    assert created["data_categories"] == created["processors"] == created["transfers"] == []


def test_validity_may_be_unlimited(api: Api) -> None:
    created = api.post("/purposes", {**NEWSLETTER, "consent_validity_days": None})
    assert created["consent_validity_days"] is None
    assert api.get("/purposes/newsletter")["consent_validity_days"] is None


def test_bad_fields_are_all_named(api: Api, db_session: Session) -> None:
    body = {
        "slug": "Not A Slug",
        "name": "",
        "legal_basis": "because",
        "retention_days": "forever",
        "consent_validity_days": 0,
        "requires_double_opt_in": "yes",
        "data_categories": "email",
        "processors": [""],
        "transfers": [42],
        "owner": "me",
    }
    fields = api.post("/purposes", body, 422)["fields"]
    assert set(fields) == {
        "slug",
        "name",
        "description",
        "legal_basis",
        "retention_days",
        "consent_validity_days",
        "requires_double_opt_in",
        "data_categories",
        "processors",
        "transfers",
        "owner",
    }
    assert db_session.scalar(select(func.count()).select_from(Purpose)) == 0


def test_boolean_is_not_a_number_of_days(api: Api) -> None:
    fields = api.post("/purposes", {**NEWSLETTER, "retention_days": True}, 422)["fields"]
    assert set(fields) == {"retention_days"}


def test_slug_rules(api: Api) -> None:
    for bad in ("-news", "news-", "news_letter", "Newsletter", "a" * 65, ""):
        assert "slug" in api.post("/purposes", {**NEWSLETTER, "slug": bad}, 422)["fields"]
    assert api.post("/purposes", {**NEWSLETTER, "slug": "partner-offers-2"})["slug"] == "partner-offers-2"


def test_duplicate_slug_is_409(api: Api, db_session: Session) -> None:
    api.post("/purposes", NEWSLETTER)
    body = api.post("/purposes", {**NEWSLETTER, "name": "Another"}, 409)
    assert body["error"] == "conflict"
    assert db_session.scalar(select(func.count()).select_from(Purpose)) == 1


def test_unknown_purpose_is_404(api: Api) -> None:
    api.get("/purposes/nope", 404)
    api.get("/purposes/nope/wordings", 404)
    api.post("/purposes/nope/wordings", WORDING, 404)


def test_wordings_are_numbered_by_the_server_and_kept(api: Api) -> None:
    api.post("/purposes", NEWSLETTER)
    first = api.post("/purposes/newsletter/wordings", WORDING)
    second = api.post("/purposes/newsletter/wordings", {"text": "Yes, newsletter; notice v2."})
    assert (first["version"], second["version"]) == (1, 2)
    assert first["privacy_notice_version"] == "2024-05"
    assert second["privacy_notice_version"] is None
    assert api.get("/purposes/newsletter/wordings") == {"items": [first, second]}


def test_wording_versions_are_per_purpose(api: Api) -> None:
    create_purpose(api)
    create_purpose(api, slug="events")
    assert [w["version"] for w in api.get("/purposes/events/wordings")["items"]] == [1]


def test_client_cannot_choose_the_version(api: Api, db_session: Session) -> None:
    api.post("/purposes", NEWSLETTER)
    fields = api.post("/purposes/newsletter/wordings", {**WORDING, "version": 7}, 422)["fields"]
    assert fields == {"version": "unknown field"}
    assert db_session.scalar(select(func.count()).select_from(ConsentWording)) == 0


def test_bad_wording_is_422(api: Api) -> None:
    api.post("/purposes", NEWSLETTER)
    fields = api.post("/purposes/newsletter/wordings", {"text": " ", "privacy_notice_version": 3}, 422)[
        "fields"
    ]
    assert set(fields) == {"text", "privacy_notice_version"}


def test_writes_are_audited_with_ids_only(api: Api, db_session: Session) -> None:
    create_purpose(api)
    events = db_session.scalars(select(AuditEvent).where(AuditEvent.subject_type == "purpose")).all()
    assert [(e.action, e.subject_id, e.details) for e in events] == [
        ("purpose.create", "newsletter", {}),
        ("purpose.wording_add", "newsletter", {"version": 1}),
    ]
    assert all(e.actor.startswith("user:") for e in events)
