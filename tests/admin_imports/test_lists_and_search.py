"""Building lists in bulk and finding contacts by a part of their email (issue 16, rough edges)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.models import Contact, ListMember
from sender.services.audience import segments
from tests.admin_imports.conftest import csrf_token
from tests.factories import ContactFactory, ListFactory


def _found(client: FlaskClient, query: str) -> list[str]:
    html = client.get("/admin/contacts", query_string={"q": query}).get_data(as_text=True)
    return re.findall(r'<td><a href="/admin/contacts/[^"]+">([^<]+)</a></td>', html)


def _members(session: Session, list_id: int) -> set[str]:
    session.expire_all()
    rows = session.scalars(
        select(Contact)
        .join(ListMember, ListMember.contact_id == Contact.id)
        .where(ListMember.list_id == list_id)
    )
    return {c.email or c.phone or "" for c in rows}


@pytest.fixture
def people(db_session: Session) -> None:
    """Four contacts on two domains, one of them erased."""
    ContactFactory(email="jeanne.dupont@acme.example", first_name="Jeanne")
    ContactFactory(email="paul@acme.example", first_name="Paul")
    ContactFactory(email="zoe@other.example", first_name="Zoé")
    ContactFactory(email=None, email_hash=None, phone=None, status="erased")
    db_session.commit()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("@acme.example", ["paul@acme.example", "jeanne.dupont@acme.example"]),
        ("acme.example", ["paul@acme.example", "jeanne.dupont@acme.example"]),
        ("@ACME", ["paul@acme.example", "jeanne.dupont@acme.example"]),
        ("jeanne.d", ["jeanne.dupont@acme.example"]),
        ("jeanne.dupont@ac", ["jeanne.dupont@acme.example"]),
        ("zoe", ["zoe@other.example"]),
        ("Jeanne", ["jeanne.dupont@acme.example"]),
    ],
)
def test_search_finds_a_part_of_an_email_or_a_domain(
    client_as: Callable[[str], FlaskClient], people: None, query: str, expected: list[str]
) -> None:
    assert _found(client_as("dpo"), query) == expected


def test_the_results_of_a_search_join_a_list_in_one_go(
    client_as: Callable[[str], FlaskClient], db_session: Session, people: None
) -> None:
    salon = ListFactory(name="Acme people")
    db_session.commit()
    client = client_as("marketer")
    page = client.get("/admin/contacts", query_string={"q": "@acme.example"}).get_data(as_text=True)
    assert "Add every contact this search finds to the list" in page

    response = client.post(
        "/admin/lists/add",
        data={"csrf_token": csrf_token(client), "list_id": salon.id, "q": "@acme.example", "kind": "auto"},
        follow_redirects=True,
    )

    assert "2 found, 2 added." in response.get_data(as_text=True)
    assert _members(db_session, salon.id) == {"jeanne.dupont@acme.example", "paul@acme.example"}


def test_a_segment_joins_a_list_and_erased_contacts_never_do(
    client_as: Callable[[str], FlaskClient], db_session: Session, people: None
) -> None:
    salon = ListFactory(name="Everyone")
    everyone = segments.save(db_session, None, {"name": "All", "rules": {}}, "user:1")
    db_session.commit()
    client = client_as("marketer")
    assert "Add every member of the segment" in client.get(f"/admin/lists/{salon.id}").get_data(as_text=True)

    token = csrf_token(client)
    response = client.post(
        "/admin/lists/add", data={"csrf_token": token, "list_id": salon.id, "segment": everyone.id}
    )

    assert response.status_code == 302
    assert _members(db_session, salon.id) == {
        "jeanne.dupont@acme.example",
        "paul@acme.example",
        "zoe@other.example",
    }


def test_a_phone_number_can_be_pasted_like_an_email(
    client_as: Callable[[str], FlaskClient], db_session: Session
) -> None:
    ContactFactory(email=None, email_hash=None, phone="+33612345678")
    salon = ListFactory(name="SMS")
    db_session.commit()
    client = client_as("marketer")

    response = client.post(
        f"/admin/lists/{salon.id}/members",
        data={"csrf_token": csrf_token(client), "emails": "06 12 34 56 78\n07 81 23 45 67"},
        follow_redirects=True,
    )

    assert _members(db_session, salon.id) == {"+33612345678"}
    flashed = re.findall(r"line \d+ [^<]*", response.get_data(as_text=True))
    assert flashed == ["line 2 (+33781234567): no contact has this address"]
