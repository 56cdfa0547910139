"""Users and API tokens (admins only): create users, disable them, issue and revoke tokens."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired

from sender.db import utcnow
from sender.models import ApiToken, User
from sender.models.users import ROLES
from sender.services.accounts import access, users
from sender.services.errors import Conflict
from sender.services.records import audit
from sender.web import labels
from sender.web.admin.auth import actor, requires, user
from sender.web.admin.forms import Form, choices, fits, run_action
from sender.web.session import get_session


class UserForm(Form):
    """A new staff user."""

    email = EmailField(_l("Email"), validators=[DataRequired()])
    role = SelectField(_l("Role"), choices=choices(labels.choices_of("Role", ROLES)))
    password = PasswordField(_l("Initial password (at least 12 characters)"), validators=[DataRequired()])


class TokenForm(Form):
    """A new API token for the signed-in user (a token acts for its owner, so nobody issues one for another)."""

    name = StringField(_l("Name (what uses it)"), validators=[DataRequired(), fits(ApiToken.name)])


def _page(
    user_form: UserForm, token_form: TokenForm, issued: str | None = None, status: int = 200
) -> ResponseReturnValue:
    db = get_session()
    return render_template(
        "admin/staff.html",
        users=db.scalars(select(User).order_by(User.email)).all(),
        tokens=db.execute(
            select(ApiToken, User.email).join(User, User.id == ApiToken.user_id).order_by(ApiToken.id.desc())
        ).all(),
        user_form=user_form,
        token_form=token_form,
        issued=issued,
    ), status


@requires("users.manage")
def staff_page() -> ResponseReturnValue:
    """Users and tokens."""
    return _page(UserForm(), TokenForm())


@requires("users.manage")
def user_create() -> ResponseReturnValue:
    """Create a staff user."""
    form = UserForm()
    db = get_session()
    if not form.validate():
        return _page(form, TokenForm(), status=422)
    return run_action(
        lambda: users.create_user(
            db, form.email.data or "", form.role.data or "", form.password.data or "", actor()
        ),
        success=_("User created."),
        redirect_to=url_for("admin.staff"),
        refused=lambda status: _page(form, TokenForm(), status=status),
        form=form,
        fields={Conflict: "email"},
        status=422,
    )


@requires("users.manage")
def user_active(user_id: int) -> ResponseReturnValue:
    """Disable or re-enable a user (never yourself)."""
    db = get_session()
    target = db.get(User, user_id)
    if target is None:
        abort(404)
    if target.id == user().user_id:
        flash(_("You cannot disable your own account."), "error")
        return redirect(url_for("admin.staff"))

    active = request.form.get("active") == "1"
    return run_action(
        lambda: access.set_active(db, target, active, actor()),
        success=_("User updated."),
        redirect_to=url_for("admin.staff"),
    )


@requires("tokens.manage")
def token_create() -> ResponseReturnValue:
    """Issue a token; its value is shown once, on this answer only."""
    form = TokenForm()
    db = get_session()
    if not form.validate():
        return _page(UserForm(), form, status=422)
    owner = db.get(User, user().user_id)
    if owner is None:
        abort(404)
    issued = users.issue_token(db, owner, form.name.data or "api", actor())
    # Shown once, on this answer: the request's unit commits the token before the page leaves.
    return _page(UserForm(), TokenForm(), issued=issued.value)


@requires("tokens.manage")
def token_revoke(token_id: int) -> ResponseReturnValue:
    """Revoke a token at once."""
    db = get_session()
    token = db.get(ApiToken, token_id)
    if token is None:
        abort(404)

    def revoke() -> None:
        if token.revoked_at is None:
            token.revoked_at = utcnow()
            audit.record(db, actor(), "token.revoke", "api_token", token.id, {})

    return run_action(revoke, success=_("Token revoked."), redirect_to=url_for("admin.staff"))
