"""Sign-in, sign-out, first-run setup, throttling and lock, CSRF refusals and security headers."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash

from sender.models import AuditEvent, User
from sender.services.accounts import firstrun, signin, users
from tests.admin.conftest import PASSWORD, csrf_token, post, sign_in

LOOPBACK = {"REMOTE_ADDR": "127.0.0.1"}
REMOTE = {"REMOTE_ADDR": "203.0.113.7"}
SETUP = {"email": "first@exemple.org", "password": PASSWORD, "confirm": PASSWORD}


def test_root_leads_to_setup_when_no_user_exists(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/setup"


def test_setup_from_loopback_creates_the_first_admin_and_signs_in(
    client: FlaskClient, db_session: Session
) -> None:
    response = post(client, "/admin/setup", SETUP, token_page="/admin/setup", environ_base=LOOPBACK)
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/organisation"
    user = db_session.scalars(select(User)).one()
    assert (user.email, user.role) == ("first@exemple.org", "admin")
    assert client.get("/admin/").status_code == 200
    # Setup closes once a user exists.
    assert client.get("/admin/setup").status_code == 404
    assert client.get("/").headers["Location"] == "/admin/"


def test_setup_from_elsewhere_needs_the_printed_code(
    client: FlaskClient, db_session: Session, app: Flask
) -> None:
    page = client.get("/admin/setup", environ_base=REMOTE).get_data(as_text=True)
    assert 'name="code"' in page
    refused = post(client, "/admin/setup", {**SETUP, "code": "0000-0000-0000"}, environ_base=REMOTE)
    assert refused.status_code == 403
    assert "Wrong setup code" in refused.get_data(as_text=True)
    assert db_session.scalars(select(User)).first() is None
    code = firstrun.setup_code(app.extensions["sender"].settings)
    accepted = post(client, "/admin/setup", {**SETUP, "code": code}, environ_base=REMOTE)
    assert accepted.status_code == 302


def test_a_proxied_request_is_not_trusted_as_loopback(client: FlaskClient) -> None:
    forwarded = {**LOOPBACK}
    response = post(
        client,
        "/admin/setup",
        SETUP,
        environ_base=forwarded,
        headers={"X-Forwarded-For": "198.51.100.1"},
    )
    assert response.status_code == 403


def test_setup_shows_field_errors_next_to_fields(client: FlaskClient) -> None:
    response = post(
        client,
        "/admin/setup",
        {"email": "first@exemple.org", "password": "short", "confirm": "short"},
        environ_base=LOOPBACK,
    )
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert 'id="password-error"' in body
    assert 'aria-describedby="password-error" aria-invalid="true"' in body
    assert "at least 12 characters" in body


def test_sign_in_and_out(client: FlaskClient, staff: dict[str, Any]) -> None:
    assert client.get("/admin/").status_code == 302
    response = sign_in(client, "marketer@exemple.org")
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    assert post(client, "/admin/signout", token_page="/admin/").status_code == 302
    assert client.get("/admin/").headers["Location"].startswith("/admin/signin")


def test_sign_in_follows_next_only_to_this_site(client: FlaskClient, staff: dict[str, Any]) -> None:
    token = csrf_token(client)
    data = {"csrf_token": token, "email": "dpo@exemple.org", "password": PASSWORD}
    response = client.post("/admin/signin?next=//evil.example/x", data=data)
    assert response.headers["Location"] == "/admin/"
    client.post("/admin/signout", data={"csrf_token": csrf_token(client, "/admin/")})
    data["csrf_token"] = csrf_token(client)
    response = client.post("/admin/signin?next=/admin/organisation", data=data)
    assert response.headers["Location"] == "/admin/organisation"


def test_wrong_password_is_refused_without_saying_why(client: FlaskClient, staff: dict[str, Any]) -> None:
    wrong = sign_in(client, "admin@exemple.org", "not the password at all")
    unknown = sign_in(client, "nobody@exemple.org", "not the password at all")
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong email or password" in wrong.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302


def test_repeated_failures_lock_the_account(client: FlaskClient, staff: dict[str, Any]) -> None:
    for _ in range(signin.ACCOUNT_LIMIT):
        assert sign_in(client, "admin@exemple.org", "wrong password!!").status_code == 401
    # Even the right password is refused while the lock lasts.
    locked = sign_in(client, "admin@exemple.org")
    assert locked.status_code == 429
    assert "Too many failed attempts" in locked.get_data(as_text=True)


def test_the_lock_is_per_account(app: Flask, staff: dict[str, Any]) -> None:
    attacker = app.test_client()
    for _ in range(signin.ACCOUNT_LIMIT):
        sign_in(attacker, "admin@exemple.org", "wrong password!!")
    assert sign_in(app.test_client(), "dpo@exemple.org").status_code == 302


def test_successful_sign_in_is_audited(
    client: FlaskClient, staff: dict[str, Any], db_session: Session
) -> None:
    sign_in(client, "admin@exemple.org")
    actions = db_session.scalars(select(AuditEvent.action)).all()
    assert "user.signin" in actions


def test_posts_without_csrf_token_are_refused(client: FlaskClient, staff: dict[str, Any]) -> None:
    response = client.post("/admin/signin", data={"email": "admin@exemple.org", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/admin/").status_code == 302
    sign_in(client, "admin@exemple.org")
    assert client.post("/admin/signout").status_code == 400
    assert client.post("/admin/signout", data={"csrf_token": "forged"}).status_code == 400
    assert client.get("/admin/").status_code == 200


def test_staff_pages_carry_security_headers(client: FlaskClient) -> None:
    response = client.get("/admin/signin")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    # PUBLIC_BASE_URL is https in the tests: the session cookie is Secure.
    assert "Secure" in cookie


def test_public_pages_keep_their_own_headers(client: FlaskClient) -> None:
    response = client.get("/u/not-a-token")
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_a_disabled_user_is_signed_out(
    client: FlaskClient, staff: dict[str, Any], db_session: Session
) -> None:
    sign_in(client, "marketer@exemple.org")
    staff["marketer"].is_active = False
    db_session.commit()
    assert client.get("/admin/").status_code == 302


def test_serve_prints_the_setup_code_only_while_no_user_exists(settings: Any, committed: Any) -> None:
    from sender.cli.serve import _first_run_note

    note = _first_run_note(settings, "127.0.0.1", 5000)
    assert "http://127.0.0.1:5000/" in note
    assert firstrun.setup_code(settings) in note
    with committed.Session() as session:
        session.add(User(email="someone@exemple.org", role="admin", password_hash="x"))
        session.commit()
    assert _first_run_note(settings, "127.0.0.1", 5000) == ""


def test_unicode_variants_of_an_email_count_against_one_account(
    client: FlaskClient, staff: dict[str, Any]
) -> None:
    # A full-width e, an ideographic full stop, a script e, capitals: all of them admin@exemple.org.
    variants = [
        "admin@\uff45xemple.org",
        "admin@exemple\u3002org",
        "admin@\u212fxemple.org",
        "ADMIN@EXEMPLE.ORG",
    ]
    for attempt in range(signin.ACCOUNT_LIMIT):
        assert sign_in(client, variants[attempt % len(variants)], "wrong password!!").status_code == 401
    assert sign_in(client, "admin@exemple.org").status_code == 429


def test_sign_in_hashes_one_password_whoever_asks(
    client: FlaskClient, staff: dict[str, Any], db_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unknown, deactivated and active accounts cost one password hash each: timing names no account."""
    staff["dpo"].is_active = False
    db_session.commit()
    verified: list[str] = []

    def counting(stored: str, password: str) -> bool:
        verified.append(stored.split("$", 1)[0])
        return check_password_hash(stored, password)

    # werkzeug's verifier as our module calls it, counted (the hash is still computed for real).
    monkeypatch.setattr(users, "check_password_hash", counting)
    for email, password in [
        ("nobody@exemple.org", PASSWORD),
        ("dpo@exemple.org", PASSWORD),
        ("marketer@exemple.org", "wrong password!!"),
    ]:
        verified.clear()
        assert sign_in(client, email, password).status_code == 401
        assert verified == ["scrypt:32768:8:1"], email
