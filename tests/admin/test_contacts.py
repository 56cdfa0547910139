"""Contact pages: search, the consent proof on the contact page, recording consent, restriction, erasure."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.addresses import address_hash
from sender.models import ConsentEvent, Contact, ContactTag, Suppression
from sender.services.consent import gate
from tests.admin.conftest import post
from tests.campaign_helpers import grant
from tests.factories import ContactFactory, PurposeFactory, WordingFactory

ClientAs = Callable[[str], FlaskClient]


def test_search_by_email_phone_name_and_tag(client_as: ClientAs, db_session: Session) -> None:
    jeanne = ContactFactory(email="jeanne@example.org", first_name="Jeanne", last_name="Dupont")
    ContactFactory(email="paul@example.org", first_name="Paul", last_name="Durand", phone="+33612345678")
    db_session.add(ContactTag(contact_id=jeanne.id, tag="vip"))
    db_session.commit()
    client = client_as("marketer")

    def found(query: str) -> list[str]:
        body = client.get("/admin/contacts", query_string={"q": query}).get_data(as_text=True)
        return [name for name in ("jeanne@example.org", "paul@example.org") if name in body]

    assert found("Jeanne@Example.org") == ["jeanne@example.org"]
    assert found("jea") == ["jeanne@example.org"]  # a name prefix
    assert found("dur") == ["paul@example.org"]
    assert found("06 12 34 56 78") == ["paul@example.org"]
    assert found("#VIP") == ["jeanne@example.org"]
    assert found("paul@") == ["paul@example.org"]  # an email prefix
    assert found("") == ["jeanne@example.org", "paul@example.org"]


def test_search_pages_with_a_keyset(client_as: ClientAs, db_session: Session) -> None:
    made = [ContactFactory(email=f"p{i:03}@example.org") for i in range(55)]
    db_session.commit()
    client = client_as("dpo")
    first = client.get("/admin/contacts").get_data(as_text=True)
    assert "p054@example.org" in first and "p004@example.org" not in first
    assert f"before={made[5].id}" in first
    second = client.get(f"/admin/contacts?before={made[5].id}").get_data(as_text=True)
    assert "p004@example.org" in second and "p005@example.org" not in second
    assert client.get("/admin/contacts?kind=nonsense").status_code == 400


def test_contact_page_shows_state_and_proof_with_wording_text(
    client_as: ClientAs, db_session: Session
) -> None:
    purpose = PurposeFactory(name="Monthly newsletter")
    WordingFactory(purpose=purpose, text="Yes, send me the newsletter.")
    contact = ContactFactory(email="jeanne@example.org")
    grant(db_session, contact, purpose, collection_point="shop counter")
    db_session.commit()
    body = client_as("dpo").get(f"/admin/contacts/{contact.public_id}").get_data(as_text=True)
    assert "jeanne@example.org" in body
    assert "Monthly newsletter" in body
    assert "Consent granted" in body
    assert "<q>Yes, send me the newsletter.</q>" in body
    assert "Ticked box" in body and "shop counter" in body


def test_record_a_grant_with_its_proof(client_as: ClientAs, db_session: Session) -> None:
    purpose = PurposeFactory(slug="news")
    WordingFactory(purpose=purpose)
    contact = ContactFactory()
    db_session.commit()
    client = client_as("marketer")
    page = f"/admin/contacts/{contact.public_id}"
    data = {"purpose": "news", "channel": "email", "action": "grant", "mechanism": "signed_form"}
    missing = post(client, f"{page}/consents", data, token_page=page)
    assert missing.status_code == 422
    assert 'id="wording_version-error"' in missing.get_data(as_text=True)
    assert gate.check(db_session, contact.id, purpose.id, "email").reason == "no_consent"
    done = post(
        client, f"{page}/consents", {**data, "wording_version": "1", "note": "form #12"}, token_page=page
    )
    assert done.status_code == 302
    event = db_session.scalars(select(ConsentEvent).where(ConsentEvent.contact_id == contact.id)).one()
    assert (event.source, event.mechanism, event.evidence) == ("admin", "signed_form", {"note": "form #12"})
    assert event.actor.startswith("user:")
    assert gate.check(db_session, contact.id, purpose.id, "email").eligible


def test_a_non_affirmative_mechanism_is_refused_at_its_field(
    client_as: ClientAs, db_session: Session
) -> None:
    purpose = PurposeFactory(slug="news")
    WordingFactory(purpose=purpose)
    contact = ContactFactory()
    db_session.commit()
    client = client_as("admin")
    page = f"/admin/contacts/{contact.public_id}"
    data = {"purpose": "news", "channel": "email", "action": "grant", "mechanism": "one_click"}
    response = post(client, f"{page}/consents", {**data, "wording_version": "1"}, token_page=page)
    assert response.status_code == 422
    assert 'id="mechanism-error"' in response.get_data(as_text=True)


def test_create_a_contact_by_hand(client_as: ClientAs, db_session: Session) -> None:
    client = client_as("marketer")
    response = post(
        client,
        "/admin/contacts/new",
        {"email": "new@example.org", "first_name": "Nina", "tags": "vip, Salon"},
    )
    assert response.status_code == 302
    contact = db_session.scalars(select(Contact).where(Contact.email == "new@example.org")).one()
    tags = db_session.scalars(select(ContactTag.tag).where(ContactTag.contact_id == contact.id)).all()
    assert sorted(tags) == ["salon", "vip"]
    bad = post(client, "/admin/contacts/new", {"phone": "12"})
    assert bad.status_code == 422
    assert 'id="phone-error"' in bad.get_data(as_text=True)


def test_restrict_then_lift(client_as: ClientAs, db_session: Session) -> None:
    purpose = PurposeFactory()
    WordingFactory(purpose=purpose)
    contact = ContactFactory()
    grant(db_session, contact, purpose)
    db_session.commit()
    client = client_as("dpo")
    page = f"/admin/contacts/{contact.public_id}"
    assert post(client, f"{page}/restrict", token_page=page).status_code == 302
    db_session.refresh(contact)
    assert gate.check(db_session, contact.id, purpose.id, "email").reason == "restricted"
    assert post(client, f"{page}/restrict", {"lift": "1"}, token_page=page).status_code == 302
    db_session.refresh(contact)
    assert contact.status == "active"


def test_erase_needs_confirmation_then_keeps_only_a_keyed_hash(
    client_as: ClientAs, db_session: Session
) -> None:
    purpose = PurposeFactory()
    WordingFactory(purpose=purpose)
    contact = ContactFactory(email="gone@example.org", first_name="Gone")
    grant(db_session, contact, purpose)
    db_session.commit()
    client = client_as("admin")
    url = f"/admin/contacts/{contact.public_id}/erase"
    assert "cannot be undone" in client.get(url).get_data(as_text=True)
    assert post(client, url, token_page=url).status_code == 400
    db_session.refresh(contact)
    assert contact.email == "gone@example.org"
    assert post(client, url, {"confirm": "y"}, token_page=url).status_code == 302
    db_session.refresh(contact)
    assert (contact.status, contact.email, contact.first_name) == ("erased", None, None)
    digest = address_hash("test-hash-key-0123456789abcdef", "gone@example.org")
    assert db_session.scalars(select(Suppression.reason).where(Suppression.address_hash == digest)).one() == (
        "erasure"
    )
    # The ledger keeps the proof of past consent; the gate refuses the erased contact for good.
    actions = db_session.scalars(
        select(ConsentEvent.action).where(ConsentEvent.contact_id == contact.id).order_by(ConsentEvent.id)
    ).all()
    assert actions[0] == "grant"
    assert gate.check(db_session, contact.id, purpose.id, "email").reason == "erased"


def test_unknown_contact_is_404(client_as: ClientAs) -> None:
    assert client_as("admin").get("/admin/contacts/nope").status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/admin/contacts/nope",
        "/admin/campaigns/999999",
        "/admin/lists/999999",
        "/admin/segments/999999",
        "/admin/purposes/nope",
        "/admin/imports/999999",
    ],
)
def test_a_missing_record_gets_the_app_wide_404_page(client_as: ClientAs, path: str) -> None:
    response = client_as("admin").get(path)
    assert response.status_code == 404
    # The page every unknown address gets, not a bare error, in the staff pages' language (English here).
    assert "Page not found" in response.get_data(as_text=True)
