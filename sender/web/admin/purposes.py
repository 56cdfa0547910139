"""Purposes (the register of processing) and their consent wordings, versioned."""

from __future__ import annotations

from flask import abort, flash, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Optional

from sender.models.consent import LEGAL_BASES
from sender.services.consent import purposes, wordings
from sender.services.errors import Conflict
from sender.web import labels
from sender.web.admin.auth import actor, can, requires
from sender.web.admin.forms import Form, choices, run_action
from sender.web.session import get_session


class PurposeForm(Form):
    """A register entry."""

    slug = StringField(_l("Identifier (lowercase letters, digits, hyphens)"), validators=[DataRequired()])
    name = StringField(_l("Name"), validators=[DataRequired()])
    description = TextAreaField(_l("Description shown to people"), validators=[DataRequired()])
    legal_basis = SelectField(
        _l("Legal basis"), choices=choices(labels.choices_of("LegalBasis", LEGAL_BASES))
    )
    # Optional: a form posted without it (an older page) registers a marketing purpose.
    kind = SelectField(
        _l("Kind of consent"), choices=choices(labels.choices_of("PurposeKind")), validators=[Optional()]
    )
    retention_days = IntegerField(_l("Retention (days)"), default=1095, validators=[DataRequired()])
    consent_validity_days = IntegerField(
        _l("Consent validity (days, empty: no expiry)"), validators=[Optional()]
    )
    requires_double_opt_in = BooleanField(_l("Requires double opt-in"))


class WordingForm(Form):
    """The exact text shown when asking for consent."""

    text = TextAreaField(_l("Wording text"), validators=[DataRequired()])


@requires("view")
def purposes_index() -> ResponseReturnValue:
    """The register; DPO and admin add purposes."""
    db = get_session()
    form = PurposeForm()
    status = 200
    if request.method == "POST":
        if not can("purposes.edit"):
            abort(403)
        if form.validate():
            data = {k: v for k, v in form.data.items() if k != "csrf_token"}
            return run_action(
                lambda: purposes.create(db, data, actor()),
                success=_("Purpose added to the register."),
                redirect_to=lambda created: url_for("admin.purpose", slug=created.slug),
                refused=lambda refusal: _index(form, refusal),
                form=form,
                fields={Conflict: "slug"},
            )
        status = 400
    return _index(form, status)


def _index(form: PurposeForm, status: int) -> ResponseReturnValue:
    all_purposes = purposes.all_purposes(get_session())
    return render_template("admin/purposes/index.html", purposes=all_purposes, form=form), status


@requires("view")
def purpose_page(slug: str) -> ResponseReturnValue:
    """A purpose and every wording version, marked when in use."""
    return _purpose_page(slug, WordingForm())


def _purpose_page(slug: str, form: WordingForm, status: int = 200) -> ResponseReturnValue:
    db = get_session()
    purpose = purposes.get(db, slug)
    versions = purposes.wordings(db, purpose)
    return render_template(
        "admin/purposes/detail.html",
        purpose=purpose,
        versions=versions,
        used=wordings.in_use(db, [w.id for w in versions]),
        form=form,
    ), status


@requires("purposes.edit")
def wording_add(slug: str) -> ResponseReturnValue:
    """Append the next wording version."""
    db = get_session()
    form = WordingForm()
    if not form.validate():
        return _purpose_page(slug, form, 422)
    return run_action(
        lambda: purposes.add_wording(db, slug, {"text": form.text.data}, actor()),
        success=lambda added: _("Wording version %(v)d added.", v=added[1].version),
        redirect_to=url_for("admin.purpose", slug=slug),
    )


@requires("purposes.edit")
def wording_change(wording_id: int) -> ResponseReturnValue:
    """Edit or delete a version nobody has consented to yet."""
    db = get_session()
    wording = wordings.get(db, wording_id)
    slug = purposes.by_ids(db, [wording.purpose_id])[wording.purpose_id].slug
    delete = bool(request.form.get("delete"))
    form = WordingForm()
    if not delete and not form.validate():
        for error in form.text.errors:
            flash(_("Wording text: %(error)s", error=error), "error")
        return _purpose_page(slug, WordingForm(formdata=None), 422)

    def change() -> None:
        if delete:
            wordings.remove(db, wording, actor())
        else:
            wordings.edit(db, wording, form.text.data or "", actor())

    return run_action(
        change,
        success=_("Wording deleted.") if delete else _("Wording updated."),
        redirect_to=url_for("admin.purpose", slug=slug),
    )
