"""Fixtures of the API tests."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from sender.models.users import ROLES
from sender.services.accounts import users
from tests.api.helpers import PREFIX, Api


@pytest.fixture
def openapi_doc(client: FlaskClient) -> dict[str, Any]:
    """The OpenAPI document as served."""
    response = client.get(f"{PREFIX}/openapi.json")
    assert response.status_code == 200
    doc: dict[str, Any] = response.get_json()
    return doc


@pytest.fixture
def api(app: Flask, client: FlaskClient, api_headers: dict[str, str], openapi_doc: dict[str, Any]) -> Api:
    """The API as an admin."""
    return Api(app, client, api_headers, openapi_doc)


@pytest.fixture
def dpo_headers(db_session: Session) -> dict[str, str]:
    """Authorization headers of a DPO (read-only) token."""
    user = users.create_user(db_session, "dpo@exemple.org", "dpo", "correct horse battery")
    issued = users.issue_token(db_session, user)
    db_session.commit()
    return {"Authorization": f"Bearer {issued.value}"}


@pytest.fixture
def role_headers(db_session: Session) -> dict[str, dict[str, str]]:
    """Authorization headers of one token per role."""
    headers = {}
    for role in ROLES:
        user = users.create_user(db_session, f"{role}-role@exemple.org", role, "correct horse battery")
        headers[role] = {"Authorization": f"Bearer {users.issue_token(db_session, user).value}"}
    db_session.commit()
    return headers
