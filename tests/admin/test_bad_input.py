"""Hostile input on staff pages: the form again with the reason at its field (400/422), nothing written."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from sender.runtime import Runtime
from tests import import_helpers
from tests.admin.conftest import csrf_token, post
from tests.db_snapshot import snapshot
from tests.factories import ContactFactory, ListFactory, PurposeFactory, WordingFactory

ClientAs = Callable[[str], FlaskClient]
NUL = "Nul\x00byte"
NUL_REASON = "must not contain NUL characters"
INT_REASON = "must be a whole number from -2147483648 to 2147483647"
CAMPAIGN = {"name": "Spring", "channel": "email", "purpose": "news", "kind": "marketing", "subject": "Hi"}
ORGANISATION = {
    "legal_name": "Exemple SAS",
    "contact_email": "contact@exemple.test",
    "dpo_contact": "dpo@exemple.test",
    "sender_address": "news@exemple.test",
    "default_locale": "fr",
    "timezone": "Europe/Paris",
}


@pytest.fixture
def world(db_session: Session, staff: dict[str, Any]) -> dict[str, Any]:
    """A purpose with a wording, and a contact."""
    purpose = PurposeFactory(slug="news")
    wording = WordingFactory(purpose=purpose)
    contact = ContactFactory(email="camille@example.org")
    db_session.commit()
    return {"contact": contact.public_id, "wording": wording.id, "admin": staff["admin"].id}


# (page holding the form, URL posted to, fields, the field refused, its reason)
FORM_CASES: list[tuple[str, str, dict[str, Any], str, str]] = [
    ("/admin/lists", "/admin/lists", {"name": NUL}, "name", NUL_REASON),
    ("/admin/segments/new", "/admin/segments/new", {"name": NUL}, "name", NUL_REASON),
    ("/admin/segments/new", "/admin/segments/new", {"name": "S", "groups-0-tags": NUL}, "groups-0-tags", NUL_REASON),
    ("/admin/staff", "/admin/staff/tokens", {"user_id": "{admin}", "name": NUL}, "name", NUL_REASON),
    (
        "/admin/staff",
        "/admin/staff/tokens",
        {"user_id": "{admin}", "name": "x" * 100_000},
        "name",
        "Field cannot be longer than 100 characters.",
    ),
    ("/admin/purposes/news", "/admin/purposes/news/wordings", {"text": NUL}, "text", NUL_REASON),
    ("/admin/organisation", "/admin/organisation", {**ORGANISATION, "postal_address": NUL}, "postal_address", NUL_REASON),
    ("/admin/campaigns/new", "/admin/campaigns/new", {**CAMPAIGN, "body_text": NUL}, "body_text", NUL_REASON),
    (
        "/admin/contacts/{contact}",
        "/admin/contacts/{contact}/consents",
        {"purpose": "news", "channel": "email", "action": "grant", "mechanism": "checkbox", "wording_version": str(10**29)},
        "wording_version",
        INT_REASON,
    ),
    (
        "/admin/contacts/{contact}",
        "/admin/contacts/{contact}/consents",
        {"purpose": "news", "channel": "email", "action": "grant", "mechanism": "checkbox", "wording_version": "1", "note": NUL},
        "note",
        NUL_REASON,
    ),
]  # fmt: skip


@pytest.mark.parametrize(("page", "url", "data", "field", "reason"), FORM_CASES)
def test_a_refused_form_comes_back_with_the_reason_at_its_field(
    client_as: ClientAs,
    db_session: Session,
    world: dict[str, Any],
    page: str,
    url: str,
    data: dict[str, Any],
    field: str,
    reason: str,
) -> None:
    client = client_as("admin")
    data = {name: value.format(**world) for name, value in data.items()}
    # The form's page is opened first, as a browser does: opening a contact's page is itself audited.
    token = csrf_token(client, page.format(**world))
    before = snapshot(db_session)

    response = client.post(url.format(**world), data={"csrf_token": token, **data})

    assert response.status_code in (400, 422), response.status_code
    assert f'id="{field}-error">{reason}</span>' in response.get_data(as_text=True)
    assert snapshot(db_session) == before


@pytest.mark.parametrize(
    ("page", "url", "data", "flashed"),
    [
        ("/admin/contacts/{contact}", "/admin/contacts/{contact}/tags", {"tags": f"vip, {NUL}"}, "Tags: "),
        ("/admin/purposes/news", "/admin/wordings/{wording}", {"text": NUL}, "Wording text: "),
    ],
)
def test_a_refused_one_field_form_says_why_on_its_page(
    client_as: ClientAs,
    db_session: Session,
    world: dict[str, Any],
    page: str,
    url: str,
    data: dict[str, str],
    flashed: str,
) -> None:
    client = client_as("admin")
    # The form's page is opened first, as a browser does: opening a contact's page is itself audited.
    token = csrf_token(client, page.format(**world))
    before = snapshot(db_session)

    response = client.post(url.format(**world), data={"csrf_token": token, **data})

    assert response.status_code == 422
    assert flashed + NUL_REASON in response.get_data(as_text=True)
    assert snapshot(db_session) == before


@pytest.mark.parametrize(
    ("query", "reason"),
    [({"q": NUL}, NUL_REASON), ({"q": "#" + NUL}, NUL_REASON), ({"before": str(10**19)}, INT_REASON)],
)
def test_a_refused_search_is_400_with_the_reason_beside_the_box(
    client_as: ClientAs, world: dict[str, Any], query: dict[str, str], reason: str
) -> None:
    response = client_as("admin").get("/admin/contacts", query_string=query)

    assert response.status_code == 400
    assert f"{next(iter(query))}: {reason}" in response.get_data(as_text=True)
    assert "\x00" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"/admin/lists/{10**20}"),
        ("GET", f"/admin/campaigns/{2**31}"),
        ("POST", f"/admin/campaigns/{10**30}/delete"),
        ("POST", f"/admin/segments/{2**31}/delete"),
        ("POST", f"/admin/wordings/{10**19}"),
        ("GET", "/admin/contacts/a%00b"),
        ("POST", "/admin/contacts/%00/tags"),
        ("POST", "/admin/purposes/news%00/wordings"),
        ("GET", "/admin/purposes/" + "x" * 5000),
    ],
)
def test_an_id_or_key_no_record_can_have_in_a_staff_path_is_404(
    client_as: ClientAs, world: dict[str, Any], method: str, path: str
) -> None:
    client = client_as("admin")
    data = {"csrf_token": csrf_token(client, "/admin/lists")} if method == "POST" else None

    assert client.open(path, method=method, data=data).status_code == 404


def test_the_live_preview_refuses_a_nul_as_json_naming_the_field(
    client_as: ClientAs, world: dict[str, Any]
) -> None:
    client = client_as("admin")
    response = post(
        client, "/admin/campaigns/preview", {**CAMPAIGN, "purpose": NUL}, token_page="/admin/campaigns/new"
    )

    assert response.status_code == 422
    assert response.get_json()["errors"] == {"purpose": NUL_REASON}


def test_an_import_report_cursor_beyond_any_row_is_400_saying_why(
    client_as: ClientAs, db_session: Session, runtime: Runtime, world: dict[str, Any]
) -> None:
    batch = import_helpers.create(
        db_session, runtime.settings, import_helpers.csv_bytes("email", "a@example.org")
    )

    response = client_as("admin").get(f"/admin/imports/{batch.id}", query_string={"after": str(10**20)})

    assert response.status_code == 400
    assert f"after: {INT_REASON}" in response.get_data(as_text=True)


def test_removing_a_list_member_named_with_a_nul_is_refused_and_changes_nothing(
    client_as: ClientAs, db_session: Session, world: dict[str, Any]
) -> None:
    lst = ListFactory()
    db_session.commit()
    client = client_as("admin")
    page = f"/admin/lists/{lst.id}"
    token = csrf_token(client, page)
    before = snapshot(db_session)

    response = client.post(f"{page}/members", data={"csrf_token": token, "remove": NUL})

    assert response.status_code == 302
    shown = client.get(response.headers["Location"]).get_data(as_text=True)
    assert NUL_REASON in shown, re.findall(r'class="flash[^"]*"[^>]*>[^<]*', shown)
    assert snapshot(db_session) == before
