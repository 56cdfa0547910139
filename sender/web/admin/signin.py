"""Sign-in and sign-out of staff users (password, throttled, temporary lock after repeated failures)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired

from sender.models import User
from sender.services.accounts import access, signin
from sender.web.admin.auth import actor, begin_session, end_session, user
from sender.web.admin.forms import Form
from sender.web.session import get_session, keep_on_error, runtime


class SignInForm(Form):
    """Email and password."""

    email = EmailField(_l("Email"), validators=[DataRequired()])
    password = PasswordField(_l("Password"), validators=[DataRequired()])


def _safe_next(target: str | None) -> str:
    """Only a path on this site (no open redirect)."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
            return target
    return url_for("admin.dashboard")


def signin_page() -> ResponseReturnValue:
    """The sign-in form; a failure never says whether the account exists."""
    form = SignInForm()
    status = 200
    if form.validate_on_submit():
        db = get_session()
        keys = signin.throttle_keys(
            runtime().settings.hash_key, form.email.data or "", request.remote_addr or "unknown"
        )
        try:
            found = signin.authenticate(db, keys, form.email.data or "", form.password.data or "")
        except signin.SignInLocked:
            # Nothing was counted: the 429 answer rolls the request back.
            flash(_("Too many failed attempts. Try again in 15 minutes."), "error")
            return render_template("admin/signin.html", form=form), 429
        if found is not None:
            begin_session(found)
            return redirect(_safe_next(request.args.get("next")))
        # The failure counts toward the lock-out: it must be saved although the answer is a 401.
        keep_on_error()
        flash(_("Wrong email or password."), "error")
        status = 401
    elif request.method == "POST":
        status = 400
    return render_template("admin/signin.html", form=form), status


def signout() -> ResponseReturnValue:
    """End every session of the user, here and elsewhere (POST with a CSRF token: a link cannot sign out).

    Clearing this browser's cookie is not enough: a copy of it (a shared computer, a proxy log) would
    stay valid, so the user's session generation moves on and every older cookie stops loading.
    """
    db = get_session()
    me = db.get(User, user().user_id)
    if me is not None:
        access.end_sessions(db, me, actor())
    end_session()
    flash(_("You are signed out."), "success")
    return redirect(url_for("admin.signin"))
