"""Purposes (the register of processing) and their consent wordings, versioned."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Optional

from sender.models.consent import LEGAL_BASES
from sender.services.consent import purposes, wordings
from sender.services.errors import Conflict, ValidationFailed
from sender.web.admin.auth import actor, can, requires
from sender.web.admin.blueprint import bp
from sender.web.admin.forms import Form, attach_errors, choices
from sender.web.session import get_session


class PurposeForm(Form):
    """A register entry."""

    slug = StringField(_l("Identifier (lowercase letters, digits, hyphens)"), validators=[DataRequired()])
    name = StringField(_l("Name"), validators=[DataRequired()])
    description = TextAreaField(_l("Description shown to people"), validators=[DataRequired()])
    legal_basis = SelectField(_l("Legal basis"), choices=choices(LEGAL_BASES))
    retention_days = IntegerField(_l("Retention (days)"), default=1095, validators=[DataRequired()])
    consent_validity_days = IntegerField(
        _l("Consent validity (days, empty: no expiry)"), validators=[Optional()]
    )
    requires_double_opt_in = BooleanField(_l("Requires double opt-in"))


class WordingForm(Form):
    """The exact text shown when asking for consent."""

    text = TextAreaField(_l("Wording text"), validators=[DataRequired()])


@bp.route("/purposes", methods=["GET", "POST"], endpoint="purposes")
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
            try:
                created = purposes.create(db, data, actor())
            except ValidationFailed as exc:
                attach_errors(form, exc)
                status = 422
            except Conflict as exc:
                form.slug.errors = [exc.message]
                status = 409
            else:
                db.commit()
                flash(_("Purpose added to the register."), "success")
                return redirect(url_for("admin.purpose", slug=created.slug))
        else:
            status = 400
    return render_template("admin/purposes/index.html", purposes=purposes.all_purposes(db), form=form), status


@bp.get("/purposes/<slug>", endpoint="purpose")
@requires("view")
def purpose_page(slug: str) -> ResponseReturnValue:
    """A purpose and every wording version, marked when in use."""
    db = get_session()
    purpose = purposes.get(db, slug)
    versions = purposes.wordings(db, purpose)
    return render_template(
        "admin/purposes/detail.html",
        purpose=purpose,
        versions=versions,
        used=wordings.in_use(db, [w.id for w in versions]),
        form=WordingForm(),
    )


@bp.post("/purposes/<slug>/wordings", endpoint="wording_add")
@requires("purposes.edit")
def wording_add(slug: str) -> Response:
    """Append the next wording version."""
    db = get_session()
    form = WordingForm()
    if not form.validate():
        flash(_("The wording text is required."), "error")
        return redirect(url_for("admin.purpose", slug=slug))
    try:
        _purpose, wording = purposes.add_wording(db, slug, {"text": form.text.data}, actor())
    except ValidationFailed as exc:
        flash(exc.message, "error")
        return redirect(url_for("admin.purpose", slug=slug))
    db.commit()
    flash(_("Wording version %(v)d added.", v=wording.version), "success")
    return redirect(url_for("admin.purpose", slug=slug))


@bp.post("/wordings/<int:wording_id>", endpoint="wording_change")
@requires("purposes.edit")
def wording_change(wording_id: int) -> Response:
    """Edit or delete a version nobody has consented to yet."""
    db = get_session()
    wording = wordings.get(db, wording_id)
    slug = purposes.by_ids(db, [wording.purpose_id])[wording.purpose_id].slug
    try:
        if request.form.get("delete"):
            wordings.remove(db, wording, actor())
        else:
            wordings.edit(db, wording, request.form.get("text", ""), actor())
    except (Conflict, ValidationFailed) as exc:
        db.rollback()
        flash(exc.message, "error")
        return redirect(url_for("admin.purpose", slug=slug))
    db.commit()
    flash(_("Wording deleted.") if request.form.get("delete") else _("Wording updated."), "success")
    return redirect(url_for("admin.purpose", slug=slug))
