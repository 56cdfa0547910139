"""Campaign duplication through the API, alt text required at launch (in every A/B variant), and a template
frozen once sent."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from sender.models import Campaign, Template
from sender.services.composer import templates
from sender.services.errors import Conflict
from tests.api.helpers import Api, create_contact, create_purpose, grant

BODY = {
    "name": "December news",
    "subject": "News for you, {{ contact.first_name }}",
    "body_text": "Hello {{ contact.first_name }}!",
    "body_html": '<p>Hello {{ contact.first_name }}!</p><img src="https://example.org/a.png" alt="A tree">',
}


@pytest.fixture
def audience(api: Api) -> dict[str, Any]:
    """A purpose and a list with one consenting contact."""
    create_purpose(api)
    yes = create_contact(api, email="yes@example.org", first_name="Ana")
    grant(api, yes["id"])
    lst = api.post("/lists", {"name": "All"})
    api.post(f"/lists/{lst['id']}/members", {"contact_ids": [yes["id"]]}, status=200)
    return {"list": lst["id"]}


def _draft(api: Api, audience: dict[str, Any], **changes: Any) -> dict[str, Any]:
    created: dict[str, Any] = api.post(
        "/campaigns", {**BODY, "purpose": "newsletter", "lists": [audience["list"]], **changes}
    )
    return created


def test_a_sent_campaign_is_duplicated_into_a_draft(
    api: Api, audience: dict[str, Any], redis_conn: Any
) -> None:
    original = _draft(api, audience)
    api.post(f"/campaigns/{original['id']}/send", None, 202)
    copy = api.post(f"/campaigns/{original['id']}/duplicate", None, 201)
    assert copy["id"] != original["id"]
    assert copy["name"] == "Copy of December news"
    assert copy["status"] == "draft"
    assert copy["launched_at"] is None
    for kept in ("subject", "body_text", "body_html", "purpose", "channel", "kind", "lists", "template_id"):
        assert copy[kept] == original[kept], kept
    assert copy["counts"] == {"by_status": {}, "skipped": {}}
    # The copy can be sent on its own.
    assert api.post(f"/campaigns/{copy['id']}/send", None, 202)["queued"] == 1


def test_duplicating_an_unknown_campaign_is_a_404(api: Api) -> None:
    api.post("/campaigns/999999/duplicate", None, 404)


def test_the_openapi_document_declares_duplication(openapi_doc: dict[str, Any]) -> None:
    operation = openapi_doc["paths"]["/campaigns/{campaign_id}/duplicate"]["post"]
    assert operation["operationId"] == "duplicateCampaign"
    assert "201" in operation["responses"]


def test_an_image_without_alt_text_is_refused_at_launch(api: Api, audience: dict[str, Any]) -> None:
    campaign = _draft(api, audience, body_html='<p>Hi</p><img src="https://example.org/b.png">')
    refused = api.post(f"/campaigns/{campaign['id']}/send", None, 422)
    assert refused["fields"]["body_html"] == (
        "1 image(s) without alt text, first: https://example.org/b.png; describe each image (alt) before sending"
    )
    assert api.get(f"/campaigns/{campaign['id']}")["status"] == "draft"


def test_an_image_without_alt_text_in_an_ab_variant_is_refused_at_launch(
    api: Api, audience: dict[str, Any]
) -> None:
    variant = {
        "subject": "Another",
        "body_source": '<p>B</p><img src="https://example.org/b.png">',
        "body_text": "B",
    }
    test = {"variants": [variant], "test_percent": 20, "decide_by": "manual"}
    campaign = _draft(api, audience, ab_test=test)
    refused = api.post(f"/campaigns/{campaign['id']}/send", None, 422)
    assert refused["fields"] == {
        "ab_test": "variant B: 1 image(s) without alt text, first: https://example.org/b.png; describe each "
        "image (alt) before sending"
    }
    assert api.get(f"/campaigns/{campaign['id']}")["status"] == "draft"


def test_a_template_is_frozen_once_a_campaign_using_it_is_sent(
    api: Api, audience: dict[str, Any], db_session: Session, redis_conn: Any
) -> None:
    template = Template(name="Ours", layout_html="<div>{{ content }}</div>", layout_text="{{ content }}")
    db_session.add(template)
    db_session.commit()
    campaign = _draft(api, audience)
    db_session.get(Campaign, campaign["id"]).template_id = template.id  # type: ignore[union-attr]
    db_session.commit()
    # Editable while only a draft uses it.
    templates.edit(db_session, template, "Ours", "<section>{{ content }}</section>", "{{ content }}", "test")
    db_session.commit()
    api.post(f"/campaigns/{campaign['id']}/send", None, 202)
    db_session.expire_all()
    assert db_session.get(Template, template.id).frozen_at is not None  # type: ignore[union-attr]
    with pytest.raises(Conflict) as refused:
        templates.edit(db_session, template, "Ours", "<p>{{ content }}</p>", "{{ content }}", "test")
    assert str(refused.value) == templates.FROZEN
    db_session.rollback()
    assert db_session.get(Template, template.id).layout_html == "<section>{{ content }}</section>"  # type: ignore[union-attr]
    copy = templates.duplicate(db_session, template, "test")
    templates.edit(db_session, copy, "Ours, again", "<p>{{ content }}</p>", "{{ content }}", "test")
    assert copy.name == "Ours, again" and copy.frozen_at is None
