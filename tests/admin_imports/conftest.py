"""Fixtures of the import pages: the app with a stub sign-in, a signed-in client per role, CSRF-carrying posts."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from sender import create_app
from sender.runtime import Runtime
from sender.services.accounts import users
from tests.admin_imports.signin_stub import add_test_sign_in

PASSWORD = "correct horse battery staple"
_TOKEN = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


@pytest.fixture
def app(runtime: Runtime) -> Flask:
    """The app under test, with the stub sign-in routes."""
    app = create_app({"TESTING": True}, runtime=runtime)
    add_test_sign_in(app)
    return app


@pytest.fixture
def staff(db_session: Session) -> dict[str, Any]:
    """One user per role."""
    made = {
        role: users.create_user(db_session, f"{role}@exemple.org", role, PASSWORD)
        for role in ("admin", "marketer", "dpo")
    }
    db_session.commit()
    return made


@pytest.fixture
def client_as(app: Flask, staff: dict[str, Any]) -> Callable[[str], FlaskClient]:
    """A new test client signed in with the given role."""

    def make(role: str) -> FlaskClient:
        client = app.test_client()
        assert client.get(f"/test/sign-in/{staff[role].id}").status_code == 302
        return client

    return make


def csrf_token(client: FlaskClient, page: str = "/admin/imports") -> str:
    """The CSRF token of the client's session, read from a rendered page."""
    body = client.get(page).get_data(as_text=True)
    match = _TOKEN.search(body)
    assert match, f"no CSRF token on {page}"
    return match.group(1)
