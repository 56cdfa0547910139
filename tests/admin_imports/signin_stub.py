"""A minimal signed-in session for the import pages on this branch, which lacks the real sign-in pages.

`/test/sign-in/<user id>` signs a user in (tests only). Where the real sign-in pages are missing,
stand-ins for `admin.signin` and `admin.signout` let the base layout and the sign-in redirect build links.
"""

from __future__ import annotations

from flask import Flask, redirect
from flask.typing import ResponseReturnValue
from flask_login import logout_user

from sender.models import User
from sender.web.admin.auth import begin_session
from sender.web.session import get_session


def add_test_sign_in(app: Flask) -> None:
    """Register the stub routes on a test app."""

    def sign_in(user_id: int) -> ResponseReturnValue:
        user = get_session().get(User, user_id)
        assert user is not None
        begin_session(user)
        return redirect("/admin/imports")

    def sign_out() -> ResponseReturnValue:
        logout_user()
        return "signed out"

    app.add_url_rule("/test/sign-in/<int:user_id>", "test_sign_in", sign_in)
    if "admin.signin" not in app.view_functions:
        app.add_url_rule("/admin/signin", "admin.signin", lambda: ("sign in", 401))
    if "admin.signout" not in app.view_functions:
        app.add_url_rule("/admin/signout", "admin.signout", sign_out, methods=["POST"])
