"""The template library (list, create, edit, preview, duplicate), the brand, image uploads and campaign copies."""

from __future__ import annotations

from flask import flash, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Optional

from sender.models import Template
from sender.services.accounts import organisation
from sender.services.campaigns import duplicate, lifecycle
from sender.services.composer import brand, media, template_preview
from sender.services.composer import templates as library
from sender.web.admin.auth import actor, requires
from sender.web.admin.campaign_page import message_response
from sender.web.admin.forms import Form, run_action
from sender.web.session import get_session, runtime


class TemplateForm(Form):
    """A layout: its name, HTML with the {{ content }} slot, and its plain-text variant."""

    name = StringField(_l("Name"), validators=[DataRequired()])
    layout_html = TextAreaField(_l("HTML layout"), validators=[DataRequired()])
    layout_text = TextAreaField(_l("Plain-text layout"), validators=[Optional()])


class BrandForm(Form):
    """The organisation's colour and logo, as templates show them."""

    brand_color = StringField(_l("Brand colour (#rrggbb)"), validators=[Optional()])
    logo = SelectField(_l("Logo"), coerce=int, validators=[Optional()])


def template_choices(db: Session) -> list[tuple[int, str]]:
    """The library as options of the composer's template field."""
    return [(t.id, _(t.name) if t.built_in else t.name) for t in library.listing(db)]


def _brand_form(db: Session) -> BrandForm:
    row = organisation.stored(db) if request.method == "POST" else None
    stored = row or db.get(organisation.OrganisationSettings, organisation.ROW_ID)
    data = {"brand_color": stored.brand_color, "logo": stored.logo_media_id or 0} if stored else None
    form = BrandForm(data=data if request.method == "GET" else None)
    form.logo.choices = [(0, _("None: the organisation's name"))] + [
        (m.id, m.alt_text or m.public_key) for m in media.recent(db)
    ]
    return form


@requires("view")
def templates_index() -> ResponseReturnValue:
    """The library: every template (frozen ones marked), the brand and the images."""
    db = get_session()
    rows = library.listing(db)
    return render_template(
        "admin/library/index.html",
        rows=[(t, library.is_frozen(db, t)) for t in rows],
        brand_form=_brand_form(db),
        **image_context(db),
    )


def image_context(db: Session) -> dict[str, object]:
    """What the images section shows: the latest uploads with their HTML and Markdown, and the limits."""
    settings = runtime().settings
    limits = settings.composer
    return {
        "images": [
            (
                m,
                media.snippet(settings, m),
                url_for("media.image", public_key=m.public_key),
                media.markdown(settings, m),
            )
            for m in media.recent(db)
        ],
        "image_limits": {"mb": round(limits.media_max_bytes / 1048576, 1), "px": limits.media_max_width},
    }


def _form_page(form: TemplateForm, template: Template | None, status: int) -> ResponseReturnValue:
    return render_template(
        "admin/library/edit.html", form=form, template=template, **image_context(get_session())
    ), status


@requires("campaigns.edit")
def template_new() -> ResponseReturnValue:
    """Write a new template."""
    form = TemplateForm(data={"layout_text": "{{ content }}"} if request.method == "GET" else None)
    if request.method == "POST" and form.validate():
        return run_action(
            lambda: library.create(
                get_session(),
                form.name.data or "",
                form.layout_html.data or "",
                form.layout_text.data or "",
                actor(),
            ),
            success=_("Template saved."),
            redirect_to=lambda saved: url_for("admin.template_edit", template_id=saved.id),
            refused=lambda status: _form_page(form, None, status),
            form=form,
        )
    return _form_page(form, None, 400 if request.method == "POST" else 200)


@requires("campaigns.edit")
def template_edit(template_id: int) -> ResponseReturnValue:
    """Change a template nobody has sent yet; a frozen or built-in one says to duplicate it."""
    db = get_session()
    template = library.get(db, template_id)
    data = None
    if request.method == "GET":
        data = {
            "name": template.name,
            "layout_html": template.layout_html,
            "layout_text": template.layout_text,
        }
    form = TemplateForm(data=data)
    if request.method == "POST" and form.validate():
        return run_action(
            lambda: library.edit(
                db,
                template,
                form.name.data or "",
                form.layout_html.data or "",
                form.layout_text.data or "",
                actor(),
            ),
            success=_("Template saved."),
            redirect_to=url_for("admin.template_edit", template_id=template_id),
            refused=lambda status: _form_page(form, template, status),
            form=form,
            fields={},
        )
    if request.method == "GET" and library.is_frozen(db, template):
        flash(_(library.BUILT_IN if template.built_in else library.FROZEN), "notice")
    return _form_page(form, template, 400 if request.method == "POST" else 200)


@requires("view")
def template_message(template_id: int) -> ResponseReturnValue:
    """The template around a sample body, footer included, as a message would show it (preview frame)."""
    db = get_session()
    template = library.get(db, template_id)
    settings = organisation.effective_settings(db, runtime().settings)
    return message_response(template_preview.html(settings, runtime().tokens, template))


@requires("campaigns.edit")
def template_duplicate(template_id: int) -> ResponseReturnValue:
    """An editable copy of a template."""
    return run_action(
        lambda: library.duplicate(get_session(), library.get(get_session(), template_id), actor()),
        success=_("Template duplicated: this copy can be changed."),
        redirect_to=lambda copy: url_for("admin.template_edit", template_id=copy.id),
        refused=url_for("admin.templates"),
        code=303,
    )


@requires("organisation.edit")
def brand_save() -> ResponseReturnValue:
    """Store the brand colour and logo the templates show."""
    db = get_session()
    form = _brand_form(db)
    form.validate()
    return run_action(
        lambda: brand.set_brand(db, form.brand_color.data or "", form.logo.data or None, actor()),
        success=_("Brand saved. It applies to the next message sent."),
        redirect_to=url_for("admin.templates"),
        code=303,
    )


@requires("campaigns.edit")
def image_upload() -> ResponseReturnValue:
    """Store an uploaded image; back to the page it came from, where its <img> markup is listed."""
    back = request.form.get("next") or ""
    target = back if back.startswith("/admin/") and not back.startswith("//") else url_for("admin.templates")
    alt_text = (request.form.get("alt_text") or "").strip()
    upload = request.files.get("file")
    data = upload.read() if upload is not None else b""
    return run_action(
        lambda: media.store(get_session(), runtime().settings, data, alt_text, actor()),
        success=_("Image uploaded: copy its markup from the list of images into the body."),
        redirect_to=target,
        code=303,
    )


@requires("campaigns.edit")
def campaign_duplicate(campaign_id: int) -> ResponseReturnValue:
    """Copy a campaign, whatever its status, into a new draft, and open the copy."""
    db = get_session()
    return run_action(
        lambda: duplicate.duplicate(db, lifecycle.get(db, campaign_id), actor()),
        success=_("Campaign duplicated: this draft is the copy."),
        redirect_to=lambda copy: url_for("admin.campaign", campaign_id=copy.id),
        refused=url_for("admin.campaign", campaign_id=campaign_id),
        code=303,
    )
