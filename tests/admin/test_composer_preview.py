"""The composer's preview frame (issue 16, item 5): the posted draft's HTML part under the message's own
CSP, never the staff pages' (whose `style-src 'self'` would strip the message's inline styles)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sender.models import Campaign
from sender.web.admin.campaign_page import MESSAGE_CSP
from tests.admin.conftest import post
from tests.factories import ListFactory, PurposeFactory

ClientAs = Callable[[str], FlaskClient]
URL = "/admin/campaigns/preview.html"


def _draft(list_id: int, **changes: str) -> dict[str, Any]:
    return {
        "name": "Spring",
        "purpose": "news",
        "kind": "marketing",
        "lists": [str(list_id)],
        "subject": "Spring, {{ contact.first_name }}",
        "body_text": "Hello {{ contact.first_name }}",
        "body_format": "html",
        "body_source": '<p style="color: #c81e1e">Hello {{ contact.first_name }}</p>',
        **changes,
    }


def test_the_preview_frame_gets_the_posted_draft_under_the_message_csp(
    client_as: ClientAs, db_session: Session
) -> None:
    PurposeFactory(slug="news")
    lst = ListFactory()
    client = client_as("marketer")
    response = post(client, URL, _draft(lst.id), token_page="/admin/campaigns/new")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert response.headers["Content-Security-Policy"] == MESSAGE_CSP
    assert "style-src 'unsafe-inline'" in MESSAGE_CSP and "sandbox" in MESSAGE_CSP
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    body = response.get_data(as_text=True)
    assert '<p style="color:#c81e1e">Hello Camille</p>' in body
    # Nothing is saved, and the draft never travels in the address.
    assert db_session.scalar(select(func.count()).select_from(Campaign)) == 0
    assert client.get(URL).status_code == 405


def test_the_preview_frame_shows_a_template_error_as_text(client_as: ClientAs, db_session: Session) -> None:
    PurposeFactory(slug="news")
    lst = ListFactory()
    client = client_as("marketer")
    bad = post(client, URL, _draft(lst.id, body_source="{{ secret }}"), token_page="/admin/campaigns/new")
    assert bad.status_code == 422
    assert bad.mimetype == "text/plain"
    assert bad.headers["Content-Security-Policy"] == MESSAGE_CSP
    assert "body_html: line 1:" in bad.get_data(as_text=True)
    no_purpose = post(client, URL, _draft(lst.id, purpose=""), token_page="/admin/campaigns/new")
    assert no_purpose.status_code == 422
    assert no_purpose.get_data(as_text=True) == "Choose a purpose to see the message."


def test_the_preview_frame_needs_the_csrf_token_and_the_right_role(
    client_as: ClientAs, db_session: Session
) -> None:
    PurposeFactory(slug="news")
    lst = ListFactory()
    assert client_as("marketer").post(URL, data=_draft(lst.id)).status_code == 400
    assert post(client_as("dpo"), URL, _draft(lst.id), token_page="/admin/").status_code == 403
