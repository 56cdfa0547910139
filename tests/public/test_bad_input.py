"""Hostile input on the public pages: a precise refusal (field, reason) in the page's own form, nothing kept."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sender.models import ConsentEvent, Contact
from tests.public.conftest import Portal, World


def _count(db_session: Session, model: type) -> int:
    return int(db_session.scalar(select(func.count()).select_from(model)) or 0)


def _news(**choice: Any) -> list[dict[str, Any]]:
    return [{"purpose": "news", "wording_version": 1, **choice}]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "a@example.org", "consents": _news(purpose={"slug": "news"})}, "consents"),
        ({"email": "a@example.org", "consents": _news(purpose=["news"])}, "consents"),
        ({"email": "a@example.org", "consents": _news(wording_version=10**27)}, "consents"),
        ({"email": "a@example.org", "consents": _news(wording_version="1")}, "consents"),
        ({"email": "a@example.org", "consents": _news(purpose="news\x00")}, "consents"),
        ({"email": "a@example.org", "consents": _news(purpose="news\ud800")}, "consents"),
        ({"email": "a\x00b@example.org", "consents": _news()}, "email"),
        ({"email": "a\udfff@example.org", "consents": _news()}, "email"),
        ({"email": {"a": 1}, "consents": _news()}, "email"),
        ({"email": "a@example.org", "consents": _news(), "locale": "fr\x00"}, "locale"),
        ({"email": "a@example.org", "consents": {"purpose": "news"}}, "consents"),
    ],
)
def test_a_json_sign_up_with_hostile_values_is_422_naming_the_field(
    client: FlaskClient, db_session: Session, world: World, body: dict[str, Any], field: str
) -> None:
    before = _count(db_session, Contact)
    # ensure_ascii sends a lone surrogate as the \\ud800 escape a hostile client would write.
    response = client.post("/signup", data=json.dumps(body), content_type="application/json")

    assert response.status_code == 422, response.get_data(as_text=True)
    assert set(response.get_json()["fields"]) == {field}
    assert _count(db_session, Contact) == before


def test_a_json_sign_up_nested_50000_deep_is_422_on_body(
    client: FlaskClient, db_session: Session, world: World
) -> None:
    deep = '{"email": "a@example.org", "consents": ' + "[" * 50_000 + "]" * 50_000 + "}"

    response = client.post("/signup", data=deep, content_type="application/json")

    assert response.status_code == 422
    assert response.get_json()["fields"] == {"body": "is nested too deeply"}


@pytest.mark.parametrize("choice", ["news:" + "9" * 30, "news:" + "9" * 5000, "news:\u00b2", "news:1\x00"])
def test_a_form_sign_up_with_a_hostile_choice_is_the_form_again(
    client: FlaskClient, db_session: Session, world: World, choice: str
) -> None:
    response = client.post("/signup", data={"email": "a@example.org", "consent": choice})

    assert response.status_code == 400
    assert 'role="alert"' in response.get_data(as_text=True)
    assert _count(db_session, Contact) == 1  # the world's person only


@pytest.mark.parametrize(
    ("field", "label"),
    [
        ("first_name", "Prénom"),
        ("last_name", "Nom"),
        ("email", "E-mail"),
        ("phone", "Téléphone"),
        ("locale", "Langue"),
    ],
)
def test_rectifying_with_a_nul_is_the_portal_again_naming_the_field(
    portal: Portal, db_session: Session, world: World, field: str, label: str
) -> None:
    events = _count(db_session, ConsentEvent)

    response = portal.act("rectify", **{field: "Cam\x00ille"})

    assert response.status_code == 400
    # The reason and the field's name in the page's language (French here), never the input's code.
    assert f"{label} : ne doit pas contenir de caractère NUL" in portal.html
    db_session.refresh(world.contact)
    assert (world.contact.first_name, world.contact.email) == ("Camille", "camille.martin@example.org")
    assert _count(db_session, ConsentEvent) == events
    # Nothing was spent: the page's fresh tokens still act.
    assert portal.act("rectify", first_name="Camila").status_code == 200
