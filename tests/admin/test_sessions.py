"""Staff sessions end: sign-out, deactivation and a new password end every session of the user, and
sessions expire when idle and after an absolute lifetime (issue 15, item 7)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from sender import create_app
from sender.cli.main import cli
from sender.runtime import Runtime
from sender.services.accounts import users
from sender.web.admin.auth import SEEN_AT, SIGNED_IN_AT
from tests.admin.conftest import PASSWORD, post, sign_in


def _cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie("session", domain="localhost")
    assert cookie is not None
    return cookie.value


def _replay(app: Flask, value: str) -> FlaskClient:
    """Another browser presenting a copy of a session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", value, domain="localhost")
    return thief


def _signed_in(client: FlaskClient) -> bool:
    return client.get("/admin/").status_code == 200


def test_a_cookie_copied_before_sign_out_opens_nothing_after_it(
    app: Flask, client_as: Callable[[str], FlaskClient]
) -> None:
    browser, laptop = client_as("marketer"), client_as("marketer")
    copied = _cookie(browser)
    assert _signed_in(_replay(app, copied))

    assert post(browser, "/admin/signout", token_page="/admin/").status_code == 302

    replayed = _replay(app, copied)
    answer = replayed.get("/admin/")
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/admin/signin")
    assert not _signed_in(laptop)  # every session of the user ends, not only this browser's
    assert _signed_in(client_as("marketer"))  # signing in again works


def test_deactivation_ends_sessions_for_good(
    app: Flask, client_as: Callable[[str], FlaskClient], staff: dict[str, Any]
) -> None:
    marketer, admin = client_as("marketer"), client_as("admin")
    copied = _cookie(marketer)
    target = f"/admin/staff/users/{staff['marketer'].id}/active"

    assert post(admin, target, {"active": "0"}, token_page="/admin/staff").status_code == 302
    assert post(admin, target, {"active": "1"}, token_page="/admin/staff").status_code == 302

    # Active again, but the sessions opened before the deactivation stay ended.
    assert not _signed_in(marketer)
    assert not _signed_in(_replay(app, copied))
    assert _signed_in(client_as("marketer"))


def test_a_new_password_ends_every_session(base_env: dict[str, str], committed: Runtime) -> None:
    with committed.Session() as session:
        users.create_user(session, "dpo@exemple.org", "dpo", PASSWORD)
        session.commit()
    app = create_app({"TESTING": True}, runtime=committed)
    browser = app.test_client()
    assert sign_in(browser, "dpo@exemple.org").status_code == 302
    assert _signed_in(browser)

    result = CliRunner(env=base_env).invoke(
        cli, ["users", "password", "dpo@exemple.org", "--password-stdin"], input="a brand new passphrase\n"
    )

    assert result.exit_code == 0, result.output
    assert not _signed_in(browser)
    assert sign_in(app.test_client(), "dpo@exemple.org").status_code == 401  # the old password is gone
    assert sign_in(app.test_client(), "dpo@exemple.org", "a brand new passphrase").status_code == 302


def test_an_idle_session_ends(app: Flask, client_as: Callable[[str], FlaskClient]) -> None:
    idle = app.extensions["sender"].settings.staff_session_idle_minutes * 60
    browser = client_as("dpo")
    with browser.session_transaction() as cookie:
        cookie[SEEN_AT] -= idle - 5  # back just before the limit: a request starts the idle clock again
    assert _signed_in(browser)
    with browser.session_transaction() as cookie:
        cookie[SEEN_AT] -= idle + 1  # the last request, just past the limit

    answer = browser.get("/admin/contacts")

    assert answer.status_code == 302 and answer.headers["Location"].startswith("/admin/signin")
    assert "Your session has ended" in browser.get(answer.headers["Location"]).get_data(as_text=True)
    assert not _signed_in(browser)


def test_a_busy_session_still_ends_after_its_lifetime(
    app: Flask, client_as: Callable[[str], FlaskClient]
) -> None:
    lifetime = app.extensions["sender"].settings.staff_session_max_hours * 3600
    browser = client_as("admin")
    with browser.session_transaction() as cookie:
        cookie[SIGNED_IN_AT] -= lifetime - 5
    assert _signed_in(browser)  # used a minute ago: not idle
    with browser.session_transaction() as cookie:
        cookie[SIGNED_IN_AT] -= 10

    assert not _signed_in(browser)


def test_polling_a_progress_bar_does_not_keep_a_session_alive(
    app: Flask, client_as: Callable[[str], FlaskClient]
) -> None:
    idle = app.extensions["sender"].settings.staff_session_idle_minutes * 60
    browser = client_as("marketer")
    with browser.session_transaction() as cookie:
        cookie[SEEN_AT] -= idle - 5
        seen = cookie[SEEN_AT]
    browser.get("/admin/campaigns/1/progress")  # whatever it answers, nobody is at the keyboard
    with browser.session_transaction() as cookie:
        assert cookie[SEEN_AT] == seen
