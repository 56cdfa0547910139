"""The contact page (issue 16, rough edges): imported attributes shown, fields editable, the staff member
behind a consent event named, and the contact added to a list even with a phone only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.models import ListMember
from sender.services.consent import ledger
from tests.admin_imports.conftest import csrf_token
from tests.factories import ContactFactory, ListFactory, PurposeFactory, WordingFactory


def test_imported_attributes_are_shown_and_fields_can_be_edited(
    client_as: Callable[[str], FlaskClient], db_session: Session
) -> None:
    contact = ContactFactory(email="ann@example.org", attributes={"company": "Acme", "city": "Lyon"})
    db_session.commit()
    client = client_as("marketer")
    page = f"/admin/contacts/{contact.public_id}"

    html = client.get(page).get_data(as_text=True)
    assert "<dt>company</dt><dd>Acme</dd>" in html and "<dt>city</dt><dd>Lyon</dd>" in html

    form = client.get(f"{page}/edit").get_data(as_text=True)
    assert "city: Lyon\ncompany: Acme" in form and 'name="email"' not in form and 'name="phone"' in form
    token = csrf_token(client, f"{page}/edit")
    saved = client.post(
        f"{page}/edit",
        data={
            "csrf_token": token,
            "first_name": "Ann",
            "country": "Allemagne",
            "phone": "06 12 34 56 78",
            "email": "someone-else@example.org",  # not offered: a known address is not changed here
            "attributes": "company: Acme SA\nsize: 12",
        },
    )
    assert saved.status_code == 302
    db_session.refresh(contact)
    assert (contact.first_name, contact.country, contact.phone, contact.email) == (
        "Ann",
        "DE",
        "+33612345678",
        "ann@example.org",
    )
    assert contact.attributes == {"company": "Acme SA", "size": "12"}


def test_a_bad_edit_is_shown_at_its_field_and_changes_nothing(
    client_as: Callable[[str], FlaskClient], db_session: Session
) -> None:
    contact = ContactFactory(email="ann@example.org", first_name="Ann")
    db_session.commit()
    client = client_as("marketer")
    page = f"/admin/contacts/{contact.public_id}/edit"

    response = client.post(
        page,
        data={"csrf_token": csrf_token(client, page), "first_name": "Anne", "country": "Atlantis"},
    )

    assert response.status_code == 422
    assert 'id="country-error">not a country' in response.get_data(as_text=True)
    db_session.refresh(contact)
    assert (contact.first_name, contact.country) == ("Ann", "FR")


def test_consent_history_names_the_staff_member(
    client_as: Callable[[str], FlaskClient], db_session: Session, staff: dict[str, Any]
) -> None:
    purpose = PurposeFactory(name="Newsletter")
    WordingFactory(purpose=purpose, version=1)
    contact = ContactFactory(email="ann@example.org")
    marketer = staff["marketer"]
    ledger.record(
        db_session,
        contact,
        purpose,
        channel="email",
        action="grant",
        source="admin",
        mechanism="signed_form",
        actor=f"user:{marketer.id}",
        wording_version=1,
    )
    db_session.commit()

    html = client_as("dpo").get(f"/admin/contacts/{contact.public_id}").get_data(as_text=True)

    history = html.split('id="history"', 1)[1]
    assert f"<td>{marketer.email}</td>" in history and f"user:{marketer.id}" not in history


def test_a_phone_only_contact_is_added_to_a_list_from_its_page(
    client_as: Callable[[str], FlaskClient], db_session: Session
) -> None:
    contact = ContactFactory(email=None, email_hash=None, phone="+33612345678")
    salon = ListFactory(name="Salon")
    db_session.commit()
    client = client_as("marketer")
    page = f"/admin/contacts/{contact.public_id}"

    response = client.post(
        f"{page}/lists", data={"csrf_token": csrf_token(client, page), "list_id": salon.id}
    )

    assert response.status_code == 302
    members = db_session.scalars(select(ListMember.contact_id).where(ListMember.list_id == salon.id)).all()
    assert members == [contact.id]
