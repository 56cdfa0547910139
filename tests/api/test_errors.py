"""Authentication, roles and the JSON error contract shared by every route."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sender.db import utcnow
from sender.models import ApiToken, ContactList, Purpose
from tests.api.helpers import NEWSLETTER, PREFIX, Api


def test_missing_token_is_401(api: Api) -> None:
    body = api.get("/contacts", 401, headers={})
    assert body["error"] == "unauthorized"


def test_wrong_scheme_is_401(api: Api) -> None:
    token = api.headers["Authorization"].split(" ", 1)[1]
    api.get("/purposes", 401, headers={"Authorization": f"Basic {token}"})


def test_unknown_token_is_401(api: Api) -> None:
    api.get("/purposes", 401, headers={"Authorization": "Bearer snd_not-a-real-token"})
    api.post("/purposes", NEWSLETTER, 401, headers={"Authorization": "Bearer snd_not-a-real-token"})


def test_revoked_token_is_401(api: Api, db_session: Session) -> None:
    for token in db_session.scalars(select(ApiToken)):
        token.revoked_at = utcnow()
    db_session.commit()
    api.get("/purposes", 401)


def test_dpo_reads_but_cannot_change_the_audience(
    api: Api, dpo_headers: dict[str, str], db_session: Session
) -> None:
    body = api.post("/lists", {"name": "VIP"}, 403, headers=dpo_headers)
    assert body["error"] == "forbidden"
    api.post("/contacts", {"email": "a@example.org"}, 403, headers=dpo_headers)
    assert db_session.scalar(select(func.count()).select_from(ContactList)) == 0
    assert api.get("/lists", headers=dpo_headers) == {"items": []}
    assert api.get("/contacts", headers=dpo_headers)["items"] == []


def test_body_that_is_not_a_json_object_is_422(api: Api, client: FlaskClient) -> None:
    response = client.post(f"{PREFIX}/purposes", data="slug=x", headers=api.headers)
    assert response.status_code == 422
    assert "body" in response.get_json()["fields"]
    api.post("/purposes", ["not", "an", "object"], 422)


def test_oversized_body_is_413_json(api: Api, app: Flask, db_session: Session) -> None:
    limit = app.config["MAX_CONTENT_LENGTH"]
    body = {**NEWSLETTER, "description": "x" * (limit + 1)}
    answer = api.post("/purposes", body, 413)
    assert answer["error"] == "request_entity_too_large"
    assert db_session.scalar(select(func.count()).select_from(Purpose)) == 0


def test_unknown_api_path_is_json_404_even_without_token(client: FlaskClient) -> None:
    response = client.get(f"{PREFIX}/no-such-thing")
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"


def test_wrong_method_is_json_405_with_allow(client: FlaskClient, api_headers: dict[str, str]) -> None:
    response = client.put(f"{PREFIX}/purposes", headers=api_headers, json={})
    assert response.status_code == 405
    assert response.get_json()["error"] == "method_not_allowed"
    assert {"GET", "POST"} <= set(response.headers["Allow"].split(", "))


def test_paths_outside_the_api_keep_html_errors(client: FlaskClient) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
