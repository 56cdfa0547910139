"""Outgoing webhook endpoints (admins only): add one (its secret shown once), its delivery log, replays."""

from __future__ import annotations

from flask import flash, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SelectMultipleField, StringField, widgets
from wtforms.validators import DataRequired, Length

from sender.services.errors import ValidationFailed
from sender.services.webhooks import endpoints
from sender.services.webhooks.endpoints import EndpointInput, EndpointPatch
from sender.web import labels
from sender.web.admin.auth import actor, requires
from sender.web.admin.forms import Form, attach_errors, choices, run_action
from sender.web.session import discard, get_session, runtime


class EndpointForm(Form):
    """A new endpoint."""

    url = StringField(_l("URL (https)"), validators=[DataRequired(), Length(max=endpoints.MAX_URL)])
    description = StringField(_l("Description"), validators=[Length(max=endpoints.MAX_DESCRIPTION)])
    events = SelectMultipleField(
        _l("Events"),
        choices=choices(labels.choices_of("WebhookEvent")),
        option_widget=widgets.CheckboxInput(),
        widget=widgets.ListWidget(prefix_label=False),
        validators=[DataRequired()],
    )
    include_addresses = BooleanField(
        _l("Include the contact's email and phone (recorded in the audit trail)")
    )


@requires("webhooks.manage")
def webhooks_index() -> ResponseReturnValue:
    """Every endpoint, and the form to add one; a new endpoint's secret is shown this once."""
    form = EndpointForm()
    if request.method == "GET":
        return _index(form, None, 200)
    if not form.validate():
        return _index(form, None, 400)
    fields = {
        "url": form.url.data or "",
        "description": form.description.data or "",
        "events": list(form.events.data or []),
        "include_addresses": bool(form.include_addresses.data),
    }
    try:
        created = endpoints.create(get_session(), runtime().settings, EndpointInput.parse(fields), actor())
    except ValidationFailed as refusal:
        discard()
        for orphan in attach_errors(form, refusal):
            flash(orphan, "error")
        return _index(form, None, 422)
    flash(_("Endpoint added. Copy its secret now: it is not shown again."), "success")
    return _index(EndpointForm(formdata=None), created, 201)


def _index(form: EndpointForm, created: endpoints.Created | None, status: int) -> ResponseReturnValue:
    page = render_template(
        "admin/webhooks/index.html", endpoints=endpoints.listing(get_session()), form=form, created=created
    )
    return page, status


@requires("webhooks.manage")
def webhook_page(endpoint_id: int) -> ResponseReturnValue:
    """One endpoint: its settings, whether it is disabled, and its delivery log with replays."""
    db = get_session()
    endpoint = endpoints.get(db, endpoint_id)
    return render_template("admin/webhooks/detail.html", endpoint=endpoint, log=endpoints.log(db, endpoint))


@requires("webhooks.manage")
def webhook_change(endpoint_id: int) -> ResponseReturnValue:
    """Enable or disable an endpoint, or turn its addresses on or off (each change audited)."""
    db = get_session()
    wanted = {
        name: request.form.get(name) == "1"
        for name in ("enabled", "include_addresses")
        if name in request.form
    }
    page = url_for("admin.webhook", endpoint_id=endpoint_id)
    return run_action(
        lambda: endpoints.update(
            db, runtime().settings, endpoints.get(db, endpoint_id), EndpointPatch.parse(wanted), actor()
        ),
        success=_("Endpoint changed."),
        redirect_to=page,
    )


@requires("webhooks.manage")
def webhook_replay(endpoint_id: int, delivery_id: int) -> ResponseReturnValue:
    """Send one delivery again."""
    db = get_session()
    page = url_for("admin.webhook", endpoint_id=endpoint_id)
    return run_action(
        lambda: endpoints.replay(db, endpoints.get(db, endpoint_id), delivery_id, actor()),
        success=_("The delivery is sent again."),
        redirect_to=page,
    )


@requires("webhooks.manage")
def webhook_delete(endpoint_id: int) -> ResponseReturnValue:
    """Remove an endpoint and its delivery log."""
    db = get_session()
    return run_action(
        lambda: endpoints.delete(db, endpoints.get(db, endpoint_id), actor()),
        success=_("Endpoint removed."),
        redirect_to=url_for("admin.webhooks"),
    )
