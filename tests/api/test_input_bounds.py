"""Hostile input through HTTP: every bad value is a 4xx naming the field, never a 500 or a database error."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sender.models import Campaign, Contact
from tests.api.helpers import PREFIX, Api, create_contact, create_purpose, grant
from tests.api.test_campaigns import BODY

TOO_BIG = 2**31
HUGE = 99999999999999999999


@pytest.fixture
def ready(api: Api) -> dict[str, Any]:
    """A purpose with a wording, a consenting contact and a list holding it."""
    create_purpose(api)
    contact = create_contact(api)
    grant(api, contact["id"])
    lst = api.post("/lists", {"name": "All"})
    api.post(f"/lists/{lst['id']}/members", {"contact_ids": [contact["id"]]}, status=200)
    return {"contact": contact["id"], "list": lst["id"]}


@pytest.mark.parametrize(
    "path",
    [
        f"/lists/{TOO_BIG}",
        f"/lists/{HUGE}/members",
        f"/campaigns/{TOO_BIG}",
        f"/campaigns/{HUGE}/deliveries",
        "/lists/0",
        "/contacts/%00",
        "/purposes/%00/wordings",
    ],
)
def test_ids_beyond_any_column_are_404(client: FlaskClient, api: Api, path: str) -> None:
    response = client.get(PREFIX + path, headers=api.headers)
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"


def test_cursor_beyond_any_id_is_422(api: Api) -> None:
    for value in (str(TOO_BIG), str(HUGE), "9" * 400):
        cursor = base64.urlsafe_b64encode(f"c1:{value}".encode()).decode().rstrip("=")
        assert set(api.get("/contacts", 422, query={"cursor": cursor})["fields"]) == {"cursor"}


def test_campaign_lists_must_be_real_ids(api: Api, ready: dict[str, Any]) -> None:
    base = {**BODY, "purpose": "newsletter"}
    for lists in ([TOO_BIG], [HUGE], [True], [ready["list"], True], ["1"], [1.5], [0]):
        fields = api.post("/campaigns", {**base, "lists": lists}, 422)["fields"]
        assert set(fields) == {"lists"}, lists
    assert api.get("/campaigns")["items"] == []


def test_wording_version_beyond_any_id_is_422(api: Api, ready: dict[str, Any]) -> None:
    path = f"/contacts/{ready['contact']}/consents"
    body = {"purpose": "newsletter", "channel": "email", "action": "grant", "mechanism": "checkbox"}
    for version in (TOO_BIG, HUGE, True, 0):
        fields = api.post(path, {**body, "wording_version": version}, 422)["fields"]
        assert set(fields) == {"wording_version"}


def test_scheduled_at_at_the_edge_of_the_calendar_is_422(
    api: Api, ready: dict[str, Any], db_session: Session
) -> None:
    base = {**BODY, "purpose": "newsletter", "lists": [ready["list"]]}
    for moment in ("9999-12-31T23:00:00-05:00", "0001-01-01T00:30:00+01:00"):
        fields = api.post("/campaigns", {**base, "scheduled_at": moment}, 422)["fields"]
        assert fields == {"scheduled_at": "is out of the supported range of dates"}
    created = api.post("/campaigns", {**base, "scheduled_at": "2030-06-01T09:00:00+02:00"})
    assert created["scheduled_at"] == "2030-06-01T07:00:00Z"
    assert db_session.scalar(select(func.count()).select_from(Campaign)) == 1


@pytest.mark.parametrize("bad", ["\ud800", "a\udfffb", "nul\x00byte"])
def test_lone_surrogates_and_nul_bytes_are_422_naming_the_field(
    api: Api, db_session: Session, bad: str
) -> None:
    fields = api.post("/contacts", {"email": "a@example.org", "first_name": bad}, 422)["fields"]
    assert set(fields) == {"first_name"}
    assert "NUL" in fields["first_name"] or "surrogate" in fields["first_name"]
    fields = api.post("/contacts", {"email": "b@example.org", "attributes": {"city": bad}}, 422)["fields"]
    assert set(fields) == {"attributes"}
    fields = api.post("/contacts", {"email": "c@example.org", "attributes": {bad: 1}}, 422)["fields"]
    assert set(fields) == {"attributes"}
    assert set(api.post("/lists", {"name": bad}, 422)["fields"]) == {"name"}
    if "\x00" in bad:  # a URL cannot carry a lone surrogate at all
        assert set(api.get("/contacts", 422, query={"email": bad})["fields"]) == {"email"}
    assert db_session.scalar(select(func.count()).select_from(Contact)) == 0


def test_deeply_nested_json_is_422_not_a_recursion_error(
    client: FlaskClient, api: Api, db_session: Session
) -> None:
    deep = '{"email": "a@example.org", "attributes": ' + '{"a": ' * 100_000 + "1" + "}" * 100_001
    response = client.post(
        f"{PREFIX}/contacts", data=deep, headers=api.headers, content_type="application/json"
    )
    assert response.status_code == 422
    assert set(response.get_json()["fields"]) == {"body"}
    nested: Any = 1
    for _ in range(6):
        nested = {"a": nested}
    fields = api.post("/contacts", {"email": "a@example.org", "attributes": nested}, 422)["fields"]
    assert fields == {"attributes": "must not be nested more than 5 levels deep"}
    assert db_session.scalar(select(func.count()).select_from(Contact)) == 0


def test_invalid_json_is_422_on_body(client: FlaskClient, api: Api) -> None:
    for raw in (
        '{"name": ',
        "[1, 2",
        json.dumps("a string"),
        '{"name": NaN}',
        '{"name": 1e999}',
        b"\xff\xfe",
    ):
        response = client.post(
            f"{PREFIX}/lists", data=raw, headers=api.headers, content_type="application/json"
        )
        assert response.status_code == 422
        assert set(response.get_json()["fields"]) == {"body"}
    attributes = '{"email": "a@example.org", "attributes": {"ratio": Infinity}}'
    response = client.post(
        f"{PREFIX}/contacts", data=attributes, headers=api.headers, content_type="application/json"
    )
    assert response.status_code == 422


def test_types_are_not_coerced(api: Api) -> None:
    assert set(api.post("/lists", {"name": 5}, 422)["fields"]) == {"name"}
    fields = api.post("/contacts", {"email": "a@example.org", "is_legacy": 1}, 422)["fields"]
    assert set(fields) == {"is_legacy"}
    fields = api.post(
        "/purposes", {"slug": "x", "name": "X", "description": "D", "retention_days": "30"}, 422
    )["fields"]
    assert set(fields) == {"retention_days"}
