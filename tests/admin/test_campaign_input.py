"""One campaign schema: the API and the staff composer refuse the same bad content with the same message."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.models import Campaign
from sender.services.accounts import users
from tests.admin.conftest import post
from tests.factories import ListFactory, PurposeFactory

ClientAs = Callable[[str], FlaskClient]


@pytest.fixture
def api_headers(db_session: Session, staff: dict[str, Any]) -> dict[str, str]:
    """The staff admin's API token: the same person on both sides."""
    issued = users.issue_token(db_session, staff["admin"])
    db_session.commit()
    return {"Authorization": f"Bearer {issued.value}"}


GOOD = {
    "name": "December",
    "channel": "email",
    "kind": "marketing",
    "subject": "News for you, {{ contact.first_name }}",
    "body_text": "Hello {{ contact.first_name }}",
    "body_html": "",
}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"subject": "x" * 256}, "subject"),
        ({"subject": " "}, "subject"),
        ({"name": "n" * 201}, "name"),
        ({"body_text": "Hello {{ contact.first_name"}, "body_text"),
        ({"body_html": "<p>{{ contact.email }}</p>"}, "body_html"),
        ({"channel": "sms", "subject": "", "body_text": "ê" * 700}, "body_text"),
        ({"channel": "sms", "subject": "", "body_text": "  "}, "body_text"),
    ],
)
def test_the_api_and_the_composer_refuse_the_same_content_alike(
    client_as: ClientAs,
    client: FlaskClient,
    api_headers: dict[str, str],
    db_session: Session,
    changes: dict[str, Any],
    field: str,
) -> None:
    PurposeFactory(slug="news")
    lst = ListFactory()
    db_session.commit()
    body = {**GOOD, **changes}
    by_api = client.post(
        "/api/v1/campaigns", json={**body, "purpose": "news", "lists": [lst.id]}, headers=api_headers
    )
    # The composer writes its body in a format; HTML is one of them, and its problems show at the source.
    form = {**body, "body_format": "html", "body_source": body.pop("body_html")}
    by_page = post(
        client_as("marketer"), "/admin/campaigns/new", {**form, "purpose": "news", "lists": [lst.id]}
    )
    assert (by_api.status_code, by_page.status_code) == (422, 422)
    shown_at = "body_source" if field == "body_html" else field
    shown = re.search(rf'id="{shown_at}-error">([^<]*)<', by_page.get_data(as_text=True))
    assert shown is not None
    assert html.unescape(shown.group(1)) == by_api.get_json()["fields"][field]
    assert db_session.scalars(select(Campaign)).all() == []


def test_an_sms_keeps_only_its_text_in_the_composer_but_not_through_the_api(
    client_as: ClientAs, client: FlaskClient, api_headers: dict[str, str], db_session: Session
) -> None:
    """A form keeps every field while one switches channel; an API client asked for a subject explicitly."""
    PurposeFactory(slug="news")
    lst = ListFactory()
    db_session.commit()
    body = {**GOOD, "channel": "sms", "purpose": "news", "lists": [lst.id]}
    refused = client.post("/api/v1/campaigns", json=body, headers=api_headers)
    assert refused.status_code == 422
    assert refused.get_json()["fields"] == {"subject": "sms campaigns have only body_text"}
    saved = post(client_as("marketer"), "/admin/campaigns/new", body)
    assert saved.status_code == 302
    assert db_session.scalars(select(Campaign.subject)).one() == ""
