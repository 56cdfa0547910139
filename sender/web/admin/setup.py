"""First run: with no user yet, create the first admin, from loopback or with the code `sender serve` prints."""

from __future__ import annotations

import ipaddress

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import EmailField, Field, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from sender.addresses import AddressError, normalize_email
from sender.services.accounts import firstrun, users
from sender.web.admin.auth import begin_session
from sender.web.admin.forms import Form, run_action
from sender.web.session import discard, get_session, runtime


def needs_setup() -> bool:
    """True while no staff user exists."""
    return firstrun.needs_setup(get_session())


def _from_loopback() -> bool:
    # Behind a proxy every request comes from loopback: a forwarded request is never trusted as local.
    if request.headers.get("X-Forwarded-For") or request.headers.get("Forwarded"):
        return False
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False


def valid_address(form: Form, field: Field) -> None:
    """The address as the account service will read it (its normaliser), so every fault shows at once."""
    try:
        normalize_email(field.data or "")
    except AddressError:
        raise ValidationError(_("Enter a valid email address, such as name@example.org.")) from None


class SetupForm(Form):
    """The first admin, and the setup code when not on this machine; each field checked by the service's rules."""

    code = StringField(_l("Setup code (printed by sender serve)"))
    email = EmailField(_l("Email"), validators=[DataRequired(), valid_address])
    password = PasswordField(
        _l("Password (at least %(n)d characters)", n=users.MIN_PASSWORD),
        validators=[
            DataRequired(),
            Length(
                min=users.MIN_PASSWORD,
                message=_l("Too short: at least %(n)d characters.", n=users.MIN_PASSWORD),
            ),
        ],
    )
    confirm = PasswordField(
        _l("Password again"),
        validators=[DataRequired(), EqualTo("password", message=_l("Passwords differ."))],
    )


def _done() -> ResponseReturnValue:
    """The answer of a setup posted once the first admin exists (a concurrent one came first)."""
    discard()
    flash(_("The first admin exists already. Sign in."), "error")
    return redirect(url_for("admin.signin"))


def setup() -> ResponseReturnValue:
    """Create the first admin, then go to the organisation settings."""
    if not needs_setup():
        if request.method == "POST":
            return _done()
        abort(404)
    local = _from_loopback()
    form = SetupForm()
    status = 200
    if form.validate_on_submit():
        if not local and not firstrun.code_matches(runtime().settings, form.code.data or ""):
            form.code.errors = [_("Wrong setup code.")]
            return render_template("admin/setup.html", form=form, local=local), 403

        def create_admin() -> None:
            user = firstrun.create_first_admin(get_session(), form.email.data or "", form.password.data or "")
            begin_session(user)

        try:
            return run_action(
                create_admin,
                success=_("Your admin account is ready. Now tell us who sends the messages."),
                redirect_to=url_for("admin.organisation"),
                refused=lambda status: (render_template("admin/setup.html", form=form, local=local), status),
                form=form,
            )
        except firstrun.SetupDone:
            return _done()
    if request.method == "POST":
        status = 422
    return render_template("admin/setup.html", form=form, local=local), status
