"""Contacts: normalised addresses, suppression refusal, public ids only, cursor paging and search."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sender.addresses import address_hash
from sender.config import Settings
from sender.db import utcnow
from sender.models import AuditEvent, Contact, Suppression
from tests.api.helpers import PREFIX, Api, create_contact
from tests.factories import ContactFactory


def _count(db_session: Session) -> int:
    return db_session.scalar(select(func.count()).select_from(Contact)) or 0


def _suppress(db_session: Session, settings: Settings, normalised: str, channel: str) -> None:
    db_session.add(
        Suppression(
            address_hash=address_hash(settings.hash_key, normalised), channel=channel, reason="opt_out"
        )
    )
    db_session.commit()


def test_create_normalises_addresses(api: Api, db_session: Session) -> None:
    created = api.post(
        "/contacts",
        {"email": "  Camille.Martin@Example.ORG ", "phone": "06 12 34 56 78", "first_name": "Camille"},
    )
    assert created["email"] == "camille.martin@example.org"
    assert created["phone"] == "+33612345678"
    assert created["status"] == "active"
    assert created["created_at"].endswith("Z")
    row = db_session.scalar(select(Contact).where(Contact.public_id == created["id"]))
    assert row is not None
    assert row.email == "camille.martin@example.org"


def test_only_the_public_id_is_exposed(api: Api, db_session: Session) -> None:
    created = create_contact(api)
    row = db_session.scalar(select(Contact).where(Contact.public_id == created["id"]))
    assert row is not None
    assert isinstance(created["id"], str) and created["id"] != str(row.id)
    assert not any(isinstance(v, int) and not isinstance(v, bool) for v in created.values())


def test_create_answers_with_location(api: Api) -> None:
    response = api.client.post(f"{PREFIX}/contacts", json={"email": "a@example.org"}, headers=api.headers)
    assert response.status_code == 201
    assert response.headers["Location"].endswith(f"/contacts/{response.get_json()['id']}")


def test_get(api: Api) -> None:
    created = create_contact(api, email="b@example.org", country="fr")
    assert created["country"] == "FR"
    assert api.get(f"/contacts/{created['id']}") == created


def test_unknown_contact_is_404(api: Api) -> None:
    api.get("/contacts/nobody", 404)
    api.patch("/contacts/nobody", {"first_name": "X"}, 404)


def test_malformed_email_is_422_and_stores_nothing(api: Api, db_session: Session) -> None:
    fields = api.post("/contacts", {"email": "not-an-address"}, 422)["fields"]
    assert set(fields) == {"email"}
    assert _count(db_session) == 0


def test_malformed_phone_is_422_and_stores_nothing(api: Api, db_session: Session) -> None:
    assert set(api.post("/contacts", {"phone": "12"}, 422)["fields"]) == {"phone"}
    assert set(api.post("/contacts", {"phone": "call me maybe"}, 422)["fields"]) == {"phone"}
    assert _count(db_session) == 0


def test_both_bad_addresses_are_named(api: Api) -> None:
    fields = api.post("/contacts", {"email": "x@", "phone": "+33 1"}, 422)["fields"]
    assert set(fields) == {"email", "phone"}


def test_an_address_is_required(api: Api) -> None:
    assert "email" in api.post("/contacts", {"first_name": "Camille"}, 422)["fields"]


def test_bad_fields_are_422(api: Api) -> None:
    fields = api.post("/contacts", {"email": "c@example.org", "is_legacy": "no", "id": "x"}, 422)["fields"]
    assert set(fields) == {"is_legacy", "id"}
    fields = api.post("/contacts", {"email": "c@example.org", "country": "France", "attributes": []}, 422)[
        "fields"
    ]
    assert set(fields) == {"country", "attributes"}


def test_duplicate_address_is_409(api: Api, db_session: Session) -> None:
    create_contact(api, email="dup@example.org", phone="+33612345678")
    assert api.post("/contacts", {"email": "DUP@example.org"}, 409)["error"] == "conflict"
    api.post("/contacts", {"phone": "0612345678"}, 409)
    assert _count(db_session) == 1


def test_suppressed_email_is_409_and_nothing_stored(
    api: Api, db_session: Session, settings: Settings
) -> None:
    _suppress(db_session, settings, "gone@example.org", "email")
    body = api.post("/contacts", {"email": "Gone@Example.org", "first_name": "Old"}, 409)
    assert "suppression" in body["message"]
    assert _count(db_session) == 0


def test_suppressed_phone_is_409_and_nothing_stored(
    api: Api, db_session: Session, settings: Settings
) -> None:
    _suppress(db_session, settings, "+33612345678", "sms")
    api.post("/contacts", {"email": "new@example.org", "phone": "06 12 34 56 78"}, 409)
    assert _count(db_session) == 0


def test_patch(api: Api, db_session: Session) -> None:
    created = create_contact(api, email="p@example.org")
    changed = api.patch(f"/contacts/{created['id']}", {"first_name": "Zoé", "email": "P.New@Example.org"})
    assert changed["first_name"] == "Zoé"
    assert changed["email"] == "p.new@example.org"
    assert api.get(f"/contacts/{created['id']}") == changed
    audit = db_session.scalars(select(AuditEvent).where(AuditEvent.subject_id == created["id"])).all()
    assert [e.action for e in audit] == ["contact.create", "contact.update"]
    assert "example.org" not in str([e.details for e in audit])


def test_patch_bad_input(api: Api, settings: Settings, db_session: Session) -> None:
    created = create_contact(api, email="q@example.org")
    other = create_contact(api, email="taken@example.org")
    path = f"/contacts/{created['id']}"
    assert set(api.patch(path, {"status": "active", "email": "bad"}, 422)["fields"]) == {"status"}
    assert set(api.patch(path, {"email": "bad"}, 422)["fields"]) == {"email"}
    api.patch(path, {"email": other["email"]}, 409)
    _suppress(db_session, settings, "+33698765432", "sms")
    api.patch(path, {"phone": "+33698765432"}, 409)
    assert api.get(path)["email"] == "q@example.org"


def test_erased_contact_shows_no_personal_data(api: Api) -> None:
    # Presented as erased even if some personal value were left behind.
    contact = ContactFactory(status="erased", email="left@example.org", first_name="Left", erased_at=utcnow())
    shown = api.get(f"/contacts/{contact.public_id}")
    assert shown["status"] == "erased"
    assert shown["erased_at"].endswith("Z")
    assert shown["email"] is shown["phone"] is shown["first_name"] is shown["last_name"] is None
    assert shown["attributes"] == {}
    api.patch(f"/contacts/{contact.public_id}", {"first_name": "Back"}, 409)


def _all_pages(api: Api, path: str, limit: int) -> tuple[list[str], int]:
    ids: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        query: dict[str, Any] = {"limit": limit}
        if cursor:
            query["cursor"] = cursor
        page = api.get(path, query=query)
        pages += 1
        assert len(page["items"]) <= limit
        ids.extend(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return ids, pages


def test_pages_cover_everything_once_in_a_stable_order(api: Api) -> None:
    made = [ContactFactory().public_id for _ in range(7)]
    ids, pages = _all_pages(api, "/contacts", 3)
    assert ids == made
    assert pages == 3
    exact, pages = _all_pages(api, "/contacts", 7)
    assert exact == made
    assert pages == 1  # a full last page still ends with next_cursor null


def test_paging_is_stable_while_contacts_are_added(api: Api) -> None:
    made = [ContactFactory().public_id for _ in range(4)]
    first = api.get("/contacts", query={"limit": 2})
    made.append(ContactFactory().public_id)
    rest = api.get("/contacts", query={"limit": 10, "cursor": first["next_cursor"]})
    assert [c["id"] for c in first["items"] + rest["items"]] == made
    assert rest["next_cursor"] is None


def test_default_limit_is_50(api: Api) -> None:
    for _ in range(51):
        ContactFactory()
    page = api.get("/contacts")
    assert len(page["items"]) == 50
    assert len(api.get("/contacts", query={"cursor": page["next_cursor"]})["items"]) == 1


def test_bad_paging_arguments_are_422(api: Api) -> None:
    for limit in ("0", "501", "ten", "-1"):
        assert set(api.get("/contacts", 422, query={"limit": limit})["fields"]) == {"limit"}
    for cursor in ("nonsense", "!!", "bm90IGEgY3Vyc29y"):
        assert set(api.get("/contacts", 422, query={"cursor": cursor})["fields"]) == {"cursor"}
    assert len(api.get("/contacts", query={"limit": "500"})["items"]) == 0


def test_search_by_email_and_phone_normalises_the_query(api: Api) -> None:
    wanted = create_contact(api, email="find.me@example.org", phone="+33612345678")
    create_contact(api, email="other@example.org")
    by_email = api.get("/contacts", query={"email": " Find.Me@EXAMPLE.org"})
    assert [c["id"] for c in by_email["items"]] == [wanted["id"]]
    by_phone = api.get("/contacts", query={"phone": "06 12 34 56 78"})
    assert [c["id"] for c in by_phone["items"]] == [wanted["id"]]
    assert api.get("/contacts", query={"email": "nobody@example.org"}) == {"items": [], "next_cursor": None}


def test_malformed_search_is_422(api: Api) -> None:
    assert set(api.get("/contacts", 422, query={"email": "nope"})["fields"]) == {"email"}
    assert set(api.get("/contacts", 422, query={"phone": "12"})["fields"]) == {"phone"}
    assert set(api.get("/contacts", 422, query={"email": ""})["fields"]) == {"email"}


def test_create_is_audited_without_addresses(api: Api, db_session: Session) -> None:
    created = create_contact(api, email="audit@example.org")
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "contact.create"))
    assert event is not None
    assert event.subject_id == created["id"]
    assert "audit@example.org" not in str(event.details)


def test_dpo_can_read_contacts(api: Api, client: FlaskClient, dpo_headers: dict[str, str]) -> None:
    created = create_contact(api)
    assert api.get(f"/contacts/{created['id']}", headers=dpo_headers) == created
    api.patch(f"/contacts/{created['id']}", {"first_name": "X"}, 403, headers=dpo_headers)
