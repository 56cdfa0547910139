"""Organisation settings: who sends the messages, as the law requires every message to say."""

from __future__ import annotations

from zoneinfo import available_timezones

from flask import abort, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import EmailField, SelectField, StringField, TextAreaField

from sender.services.accounts import organisation
from sender.web.admin import sender_auth
from sender.web.admin.auth import actor, can, requires
from sender.web.admin.forms import Form, choices, run_action
from sender.web.session import get_session, runtime


class OrganisationForm(Form):
    """The identity shown in every message footer and on the privacy portal."""

    legal_name = StringField(_l("Legal name"))
    postal_address = TextAreaField(_l("Postal address"))
    contact_email = EmailField(_l("Contact email"))
    dpo_contact = StringField(_l("Data protection officer (email or address)"))
    sender_address = EmailField(_l("Sender address (From:)"))
    default_locale = SelectField(
        _l("Default language"), choices=choices([("en", "English"), ("fr", "Français")])
    )
    # The IANA names this system knows, offered as a list; the service checks what comes back, with the
    # other fields, so that every fault is shown at once.
    timezone = SelectField(_l("Time zone"), choices=sorted(available_timezones()), validate_choice=False)


@requires("view")
def organisation_page() -> ResponseReturnValue:
    """Show the effective settings; admins change the stored ones (environment variables still win)."""
    db = get_session()
    effective = organisation.effective(db, runtime().settings)
    form = OrganisationForm(data=effective.__dict__ if request.method == "GET" else None)
    status = 200
    if request.method == "POST":
        if not can("organisation.edit"):
            abort(403)
        if form.validate():
            return run_action(
                lambda: organisation.update(
                    db, {name: (form[name].data or "") for name in form.data}, actor()
                ),
                success=_("Organisation settings saved. They apply to the next message sent."),
                redirect_to=url_for("admin.organisation"),
                refused=lambda refusal: _page(form, effective, refusal),
                form=form,
            )
        status = 400
    return _page(form, effective, status)


def _page(form: OrganisationForm, effective: organisation.Organisation, status: int) -> ResponseReturnValue:
    return render_template(
        "admin/organisation.html",
        form=form,
        effective=effective,
        env_names=organisation.ENV_NAMES,
        # DKIM and, with ?check=1, the DNS panel (sender_auth.py).
        **sender_auth.page_context(request.args.get("check") == "1"),
    ), status
