"""Staff-page fixtures: a signed-in test client per role, and form posts that carry the CSRF token."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash
from werkzeug.test import TestResponse

from sender.models import User
from sender.models.users import ROLES

PASSWORD = "correct horse battery staple"
_TOKEN = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def csrf_token(client: FlaskClient, page: str = "/admin/signin") -> str:
    """The CSRF token of the client's session, read from a rendered form."""
    body = client.get(page).get_data(as_text=True)
    match = _TOKEN.search(body)
    assert match, f"no CSRF token on {page}"
    return match.group(1)


def post(client: FlaskClient, url: str, data: dict[str, Any] | None = None, **kwargs: Any) -> TestResponse:
    """POST a form as a browser would: with the session's CSRF token."""
    token = csrf_token(client, kwargs.pop("token_page", "/admin/signin"))
    return client.post(url, data={"csrf_token": token, **(data or {})}, **kwargs)


def sign_in(client: FlaskClient, email: str, password: str = PASSWORD) -> TestResponse:
    """Sign in through the form."""
    return post(client, "/admin/signin", {"email": email, "password": password})


@pytest.fixture(scope="session")
def password_hash() -> str:
    """PASSWORD hashed once per run (hashing is slow on purpose; sign-in still checks it for real)."""
    return generate_password_hash(PASSWORD)


@pytest.fixture
def staff(db_session: Session, password_hash: str) -> dict[str, Any]:
    """One user per role."""
    made = {role: User(email=f"{role}@exemple.org", role=role, password_hash=password_hash) for role in ROLES}
    db_session.add_all(made.values())
    db_session.commit()
    return made


@pytest.fixture
def client_as(app: Flask, staff: dict[str, Any]) -> Callable[[str], FlaskClient]:
    """A new test client signed in with the given role."""

    def make(role: str) -> FlaskClient:
        client = app.test_client()
        response = sign_in(client, staff[role].email)
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return make
