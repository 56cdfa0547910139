"""Segments as an OR of AND-groups with attribute conditions, counted live before saving (issue 16)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.models import Contact, ContactTag, Segment
from sender.services.audience import segments
from tests.admin.conftest import post
from tests.factories import ContactFactory

ClientAs = Callable[[str], FlaskClient]

# Group 0: company contains "acme" and language fr; group 1: tagged vip. Group 2 stays blank (ignored).
FORM = {
    "name": "Acme francophones or VIP",
    "groups-0-attributes-0-field": "Company",
    "groups-0-attributes-0-op": "contains",
    "groups-0-attributes-0-value": "ACME",
    "groups-0-attributes-1-field": "language",
    "groups-0-attributes-1-op": "equals",
    "groups-0-attributes-1-value": "fr",
    "groups-1-tags": "vip",
    "groups-2-country": "",
}


def people_in_and_out(db_session: Session) -> dict[str, Contact]:
    """One contact per case: in group 0, in group 1, in both, in neither (near misses)."""
    people = {
        "acme_fr": ContactFactory(locale="fr", attributes={"company": "Acme SAS"}),
        "vip": ContactFactory(locale="en", attributes={"company": "Globex"}),
        "both": ContactFactory(locale="fr", attributes={"company": "acme"}),
        "acme_en": ContactFactory(locale="en", attributes={"company": "Acme"}),
        "fr_no_company": ContactFactory(locale="fr", attributes={}),
    }
    for key in ("vip", "both"):
        db_session.add(ContactTag(contact_id=people[key].id, tag="vip"))
    db_session.commit()
    return people


def _count(body: str) -> int:
    match = re.search(r'id="segment-count" data-count="(\d+)"', body)
    assert match, body
    return int(match.group(1))


def test_an_or_segment_with_attribute_conditions_is_saved_and_counted(
    client_as: ClientAs, db_session: Session
) -> None:
    people = people_in_and_out(db_session)
    client = client_as("marketer")

    response = post(client, "/admin/segments/new", FORM, token_page="/admin/segments/new")

    assert response.status_code == 302, response.get_data(as_text=True)
    segment = db_session.scalars(select(Segment)).one()
    assert segment.rules == {
        "groups": [
            {
                "attributes": [
                    {"field": "company", "op": "contains", "value": "ACME"},
                    {"field": "language", "op": "equals", "value": "fr"},
                ]
            },
            {"tags": ["vip"]},
        ]
    }
    members = set(db_session.scalars(segments.members(db_session, [segment.id])))
    assert members == {people[k].id for k in ("acme_fr", "vip", "both")}
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "3 contacts match right now" in page
    # The saved groups come back in the form, with a blank group to add.
    assert 'value="company"' in page and 'name="groups-2-tags"' in page


def test_the_live_preview_counts_unsaved_rules_with_the_members_rule(
    client_as: ClientAs, db_session: Session
) -> None:
    people = people_in_and_out(db_session)
    client = client_as("marketer")

    response = post(client, "/admin/segments/preview", FORM, token_page="/admin/segments/new")

    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert _count(body) == 3
    for key in ("acme_fr", "vip", "both"):
        assert people[key].email in body
    for key in ("acme_en", "fr_no_company"):
        assert people[key].email not in body
    assert db_session.scalars(select(Segment)).all() == []  # nothing saved


def test_the_preview_shows_ten_members_and_the_whole_count(client_as: ClientAs, db_session: Session) -> None:
    many = [ContactFactory(attributes={"company": ""}) for _ in range(12)]
    ContactFactory(attributes={"company": "Initech"})
    db_session.commit()
    client = client_as("dpo")
    data = {"groups-0-attributes-0-field": "company", "groups-0-attributes-0-op": "empty"}

    body = post(client, "/admin/segments/preview", data, token_page="/admin/lists").get_data(as_text=True)

    assert _count(body) == 12
    assert sum(c.email in body for c in many) == 10


def test_a_missing_attribute_counts_as_empty(client_as: ClientAs, db_session: Session) -> None:
    no_key = ContactFactory(attributes={})
    ContactFactory(attributes={"company": "Initech"})
    db_session.commit()
    client = client_as("marketer")
    data = {"groups-0-attributes-0-field": "company", "groups-0-attributes-0-op": "empty"}

    body = post(client, "/admin/segments/preview", data, token_page="/admin/lists").get_data(as_text=True)

    assert _count(body) == 1 and no_key.email in body


@pytest.mark.parametrize(
    ("data", "field", "reason"),
    [
        (
            {"groups-0-attributes-0-field": "company", "groups-0-attributes-0-op": "equals"},
            "value",
            "required",
        ),
        (
            {"groups-0-attributes-0-field": "comp'any", "groups-0-attributes-0-value": "x"},
            "field",
            "letters, digits",
        ),
    ],
)
def test_a_bad_condition_is_refused_at_its_field(
    client_as: ClientAs, db_session: Session, data: dict[str, str], field: str, reason: str
) -> None:
    client = client_as("marketer")

    preview = post(client, "/admin/segments/preview", data, token_page="/admin/lists")
    saved = post(client, "/admin/segments/new", {"name": "Bad", **data}, token_page="/admin/lists")

    assert preview.status_code == 422 and reason in preview.get_data(as_text=True)
    assert saved.status_code == 422
    error = re.search(
        rf'<span class="error" id="groups-0-attributes-0-{field}-error">([^<]*)</span>',
        saved.get_data(as_text=True),
    )
    assert error and reason in error.group(1)
    assert db_session.scalars(select(Segment)).all() == []


def test_add_an_or_group_keeps_what_was_typed(client_as: ClientAs) -> None:
    client = client_as("marketer")

    response = post(
        client,
        "/admin/segments/new",
        {"name": "Draft", "groups-0-tags": "vip", "add_group": "1"},
        token_page="/admin/lists",
    )

    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'name="groups-1-tags"' in body and 'value="vip"' in body
