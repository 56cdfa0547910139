"""Campaigns: the list, compose (email, or SMS with a segment counter) with a live preview, audience
preview, schedule, send (confirmed), control, export. The campaign's own page is in campaign_page.py."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC
from typing import Any

from flask import (
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms import (
    BooleanField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Optional

from sender.channels.base import channels, get_channel
from sender.db import utcnow
from sender.enums import BodyFormat, CampaignKind, CampaignStatus, TrackingMode
from sender.enums import Channel as ChannelName
from sender.models import Campaign, ContactList, Purpose, Template
from sender.services.accounts import organisation
from sender.services.audience import lists as list_service
from sender.services.audience import segments
from sender.services.campaigns import ab_tests, drafts, export, launch, lifecycle, requalify, states
from sender.services.campaigns.schema import KINDS
from sender.services.consent import purposes
from sender.services.errors import ValidationFailed
from sender.services.messages import preview, sms, variants
from sender.services.records import audit, csv_export, times
from sender.services.records import dashboard as board
from sender.web import labels
from sender.web.admin import compose_body, library
from sender.web.admin.auth import actor, can, requires
from sender.web.admin.campaign_page import ScheduleForm, get_campaign, message_response
from sender.web.admin.downloads import csv_attachment
from sender.web.admin.forms import Form, choices, run_action
from sender.web.admin.records import launch_blockers
from sender.web.session import get_session, runtime

_LINE = re.compile(r"^line (\d+):")


class CampaignForm(Form):
    """A campaign: channel, purpose, audience (lists and segments) and its templates (SMS: the text only)."""

    name = StringField(_l("Name (internal)"), validators=[DataRequired()])
    channel = SelectField(
        _l("Channel"), choices=choices(labels.choices_of("Channel")), default=ChannelName.EMAIL
    )
    purpose = SelectField(_l("Purpose"), validators=[DataRequired()])
    kind = SelectField(
        _l("Kind"), choices=choices(labels.choices_of("CampaignKind", ("marketing", "legal_notice")))
    )
    lists = SelectMultipleField(_l("Lists"), coerce=int, validators=[Optional()])
    segments = SelectMultipleField(_l("Segments"), coerce=int, validators=[Optional()])
    subject = StringField(_l("Subject"), validators=[Optional()])
    body_text = TextAreaField(_l("Text body"), validators=[Optional()])
    body_format = SelectField(
        _l("Written in"), choices=choices(labels.choices_of("BodyFormat")), default=BodyFormat.RICHTEXT
    )
    # The format the posted body is written in: what "Convert" converts from (compose_body.py).
    source_format = HiddenField(default=BodyFormat.RICHTEXT)
    body_source = TextAreaField(_l("Body"), validators=[Optional()])
    body_text_derived = BooleanField(_l("Derive the plain text from the body"), default=True)
    template_id = SelectField(_l("Template"), coerce=int, default=0, validators=[Optional()])
    tracking_mode = SelectField(
        _l("Click and open tracking"),
        choices=choices(labels.choices_of("TrackingMode")),
        default=TrackingMode.OFF,
        validators=[Optional()],
    )


def _compose_form(campaign: Campaign | None = None) -> CampaignForm:
    db = get_session()
    data = None
    if campaign is not None and request.method == "GET":
        data = {
            **drafts.stored(db, campaign),
            "source_format": campaign.body_format,
            "template_id": campaign.template_id or 0,
        }
    form = CampaignForm(data=data)
    form.template_id.choices = [(0, _("None: the body alone")), *library.template_choices(db)]
    form.purpose.choices = choices((p.slug, p.name) for p in purposes.all_purposes(db))
    form.lists.choices = [
        (s.list.id, f"{s.list.name} ({s.member_count})") for s in list_service.summaries(db)
    ]
    form.segments.choices = [(s.id, s.name) for s in segments.all_segments(db)]
    return form


def _form_data(form: CampaignForm) -> dict[str, Any]:
    return {name: form[name].data for name in form.data if name not in ("csrf_token", "source_format")}


def excerpt(source: str, message: str) -> list[tuple[int, str, bool]]:
    """The lines around the one a template error names, for showing the error at its line."""
    match = _LINE.match(message)
    if not match:
        return []
    bad = int(match.group(1))
    lines = source.splitlines() or [""]
    start, end = max(1, bad - 2), min(len(lines), bad + 2)
    return [(n, lines[n - 1], n == bad) for n in range(start, end + 1)]


def _compose(campaign: Campaign | None) -> ResponseReturnValue:
    form = _compose_form(campaign)
    status = 200
    if request.method == "POST" and compose_body.CONVERT in request.form:
        return _compose_page(form, campaign, compose_body.convert(form))
    if request.method == "POST":
        if form.validate():
            return run_action(
                lambda: drafts.save(get_session(), campaign, _form_data(form), actor()),
                success=_saved_message(campaign),
                redirect_to=lambda saved: url_for("admin.campaign", campaign_id=saved.id),
                refused=lambda refusal: _compose_page(form, campaign, refusal),
                form=form,
            )
        status = 400
    return _compose_page(form, campaign, status)


def _saved_message(campaign: Campaign | None) -> str:
    """What saving says; for a scheduled campaign, that it is a draft again and when it was due."""
    if campaign is None or campaign.status != CampaignStatus.SCHEDULED:
        return _("Draft saved.")
    org = organisation.effective(get_session(), runtime().settings)
    return _(
        "Saved. The campaign is a draft again (it was scheduled for %(when)s): schedule or send it when ready.",
        when=times.shown(campaign.scheduled_at, org.zone),
    )


def _compose_page(form: CampaignForm, campaign: Campaign | None, status: int) -> ResponseReturnValue:
    excerpts = {
        name: excerpt(form[name].data or "", error)
        for name in ("subject", "body_text", "body_source")
        for error in form[name].errors[:1]
    }
    counter = _sms_counter(form.kind.data, form.body_text.data) if form.channel.data == "sms" else None
    return render_template(
        "admin/campaigns/compose.html",
        form=form,
        campaign=campaign,
        excerpts=excerpts,
        counter=counter,
        # The channels whose message is its text alone: the page hides their subject, HTML and preview.
        text_only_channels=[channel.name for channel in channels() if channel.content.text_only],
        body=compose_body.page_context(),
        **library.image_context(get_session()),
    ), status


def _sms_count(kind: str, body_text: str) -> sms.SmsPreview:
    """The SMS a text makes, mentions included, as the API previews it; ValidationFailed for a bad template."""
    if body_text.strip():
        # Checked as when saved: the preview renders only templates that compile and fit.
        sms.validate_sms_body(body_text)
    return sms.preview(
        get_session(), runtime().settings, Campaign(channel="sms", kind=kind, body_text=body_text)
    )


def _sms_counter(kind: str | None, body_text: str | None) -> sms.SmsPreview | None:
    """The counter shown without JavaScript; None when the text does not render (its error is shown)."""
    try:
        return _sms_count(kind or "marketing", body_text or "")
    except ValidationFailed:
        return None


@requires("view")
def campaigns_index() -> ResponseReturnValue:
    """Every campaign, newest first, with its progress; a requalification cycle with its own state."""
    db = get_session()
    rows = db.scalars(
        select(Campaign).where(Campaign.kind != CampaignKind.SEQUENCE).order_by(Campaign.id.desc()).limit(200)
    ).all()
    reports = lifecycle.reports_for(db, [c.id for c in rows])
    cycles = requalify.cycles_of(db, [c.id for c in rows])
    funnels = requalify.funnels(db, list(cycles))
    org = organisation.effective(db, runtime().settings)
    return render_template(
        "admin/campaigns/index.html",
        rows=[(c, board.progress_from(c, reports[c.id].by_status)) for c in rows],
        # A cycle's progress is its funnel, not its deliveries: "sent 100 %" while answers come in misleads.
        cycles={
            cid: (requalify.cycle_state(c, cycles[cid]), cycles[cid], funnels[cid])
            for c in rows
            if (cid := c.id) in cycles
        },
        local=lambda moment: times.shown(moment, org.zone),
    )


@requires("campaigns.edit")
def campaign_new() -> ResponseReturnValue:
    """Compose a new draft."""
    return _compose(None)


@requires("campaigns.edit")
def campaign_edit(campaign_id: int) -> ResponseReturnValue:
    """Edit a draft, or a scheduled campaign (saving it returns it to draft, to be scheduled again)."""
    campaign = get_campaign(campaign_id)
    if campaign.status not in drafts.EDITABLE:
        flash(_("Only a draft or a scheduled campaign can be edited."), "error")
        return redirect(url_for("admin.campaign", campaign_id=campaign_id))
    return _compose(campaign)


def _posted_draft() -> tuple[CampaignForm, Campaign | None]:
    """The compose form as posted, and the unsaved email campaign it describes (None without a purpose)."""
    db = get_session()
    form = _compose_form()
    if not form.storable():
        # Text the database could not store (NUL, a lone surrogate) is refused before any rendering.
        raise ValidationFailed({name: str(errors[0]) for name, errors in form.errors.items()})
    purpose = db.scalar(select(Purpose).where(Purpose.slug == (form.purpose.data or "")))
    if purpose is None:
        return form, None
    draft = Campaign(
        id=0,
        name=form.name.data or "",
        purpose_id=purpose.id,
        channel="email",
        kind=form.kind.data or "marketing",
        subject=form.subject.data or "",
        **compose_body.posted_parts(form),
    )
    draft.template = db.get(Template, form.template_id.data) if form.template_id.data else None
    draft.lists = list(db.scalars(select(ContactList).where(ContactList.id.in_(form.lists.data or []))))
    return form, draft


@requires("campaigns.edit")
def campaign_live_preview() -> ResponseReturnValue:
    """Render the form as posted (not saved) for the compose page's live preview; JSON."""
    try:
        form, draft = _posted_draft()
    except ValidationFailed as exc:
        return jsonify({"errors": exc.errors}), 422
    if draft is None:
        return jsonify({"errors": {"purpose": "choose a purpose"}}), 422
    try:
        rendered = preview.render(runtime(), get_session(), draft, compose_body.picked(get_session()))
    except ValidationFailed as exc:
        errors = {drafts.SOURCE.get(k, k): v for k, v in exc.errors.items()}
        return jsonify(
            {
                "errors": errors,
                "excerpts": {k: excerpt(form[k].data or "", v) for k, v in errors.items() if k in form},
            }
        ), 422
    return jsonify(
        {
            "subject": rendered.subject,
            "headers": rendered.headers,
            "text": rendered.text,
            "html": rendered.html,
        }
    )


@requires("campaigns.edit")
def campaign_live_message() -> ResponseReturnValue:
    """The HTML part of the form as posted (not saved), for the compose page's sandboxed preview frame.

    Posted into the frame, never written into it: a `srcdoc` document would inherit the staff pages' CSP,
    which blocks the message's inline styles. This answer carries the message's own CSP instead.
    """
    try:
        _form, draft = _posted_draft()
    except ValidationFailed as exc:
        return message_response(exc.message, 422)
    if draft is None:
        return message_response(_("Choose a purpose to see the message."), 422)
    try:
        rendered = preview.render(runtime(), get_session(), draft, compose_body.picked(get_session()))
    except ValidationFailed as exc:
        return message_response(exc.message, 422)
    return message_response(rendered.html or None)


@requires("campaigns.edit")
def campaign_sms_segments() -> ResponseReturnValue:
    """Characters, encoding and segments of the SMS text as posted (mentions included); JSON."""
    kind = request.form.get("kind") or "marketing"
    if kind not in KINDS:
        return jsonify({"errors": {"kind": f"must be one of {', '.join(KINDS)}"}}), 422
    try:
        counted = _sms_count(kind, request.form.get("body_text", ""))
    except ValidationFailed as exc:
        return jsonify({"errors": exc.errors}), 422
    return jsonify({**counted.as_dict(), "characters": counted.characters})


@requires("view")
def campaign_audience(campaign_id: int) -> ResponseReturnValue:
    """Who launching now would reach, and how many would be skipped, by reason (writes nothing)."""
    campaign = get_campaign(campaign_id)
    result = lifecycle.preview(get_session(), campaign, estimate=True)
    return render_template("admin/campaigns/audience.html", campaign=campaign, result=result)


def _control(
    campaign_id: int, action: Callable[[Session, Campaign], object], done: str
) -> ResponseReturnValue:
    campaign = get_campaign(campaign_id)
    return run_action(
        lambda: action(get_session(), campaign),
        success=done,
        redirect_to=url_for("admin.campaign", campaign_id=campaign_id),
        code=303,
    )


class SendForm(Form):
    """The confirmation of a launch, given on the page that states its audience."""

    confirm = HiddenField(validators=[DataRequired()])


class WinnerForm(Form):
    """The variant a person picks as an A/B test's winner."""

    variant = SelectField(choices=list(variants.NAMES), validators=[DataRequired()])


@requires("campaigns.send")
def campaign_ab_winner(campaign_id: int) -> ResponseReturnValue:
    """Send the picked variant to the rest of the audience (the test's figures are kept)."""
    form = WinnerForm()
    if not form.validate():
        flash(_("Choose a variant."), "error")
        return redirect(url_for("admin.campaign", campaign_id=campaign_id), 303)
    picked = variants.NAMES.index(form.variant.data)
    return _control(
        campaign_id,
        lambda db, c: ab_tests.decide(db, c, actor(), picked),
        _("Variant %(name)s goes to the rest of the audience.", name=form.variant.data),
    )


@requires("campaigns.send")
def campaign_send(campaign_id: int) -> ResponseReturnValue:
    """Launch now, once confirmed on the page that states how many people it reaches, and on which channel."""
    form = SendForm()
    if request.method == "POST" and form.validate() and form.confirm.data == "yes":
        return _control(
            campaign_id,
            lambda db, c: launch.send(db, runtime().settings, c.id, actor(), now=True),
            _("Sending started."),
        )
    campaign = get_campaign(campaign_id)
    if campaign.status not in states.LAUNCH.sources:
        # Nothing to confirm: the state machine would refuse the launch.
        flash(_("Only a draft or a scheduled campaign can be sent."), "error")
        return redirect(url_for("admin.campaign", campaign_id=campaign_id), 303)
    org = organisation.effective(get_session(), runtime().settings)
    return render_template(
        "admin/campaigns/confirm_send.html",
        campaign=campaign,
        channel=_(get_channel(campaign.channel).label),
        # Counted as the launch will plan it (consent checked); nothing is written.
        result=lifecycle.preview(get_session(), campaign, estimate=True),
        form=SendForm(formdata=None),
        local=lambda moment: times.shown(moment, org.zone),
        blockers=launch_blockers(campaign),
        purpose_slug=purposes.by_ids(get_session(), [campaign.purpose_id])[campaign.purpose_id].slug,
    )


@requires("campaigns.send")
def campaign_schedule(campaign_id: int) -> ResponseReturnValue:
    """Schedule the launch at a local time of the organisation."""
    form = ScheduleForm()
    if not form.validate() or form.when.data is None:
        flash(_("Give the date and time of the launch."), "error")
        return redirect(url_for("admin.campaign", campaign_id=campaign_id)), 303
    org = organisation.effective(get_session(), runtime().settings)
    when = form.when.data.replace(tzinfo=org.zone).astimezone(UTC).replace(tzinfo=None)
    if when <= utcnow():
        flash(_("The launch time must be in the future."), "error")
        return redirect(url_for("admin.campaign", campaign_id=campaign_id)), 303
    return _control(
        campaign_id,
        lambda db, c: launch.send(db, runtime().settings, c.id, actor(), at=when),
        _("Launch scheduled for %(when)s.", when=times.shown(when, org.zone)),
    )


@requires("campaigns.send")
def campaign_pause(campaign_id: int) -> ResponseReturnValue:
    """Stop claiming new deliveries."""
    return _control(campaign_id, lambda db, c: lifecycle.pause(db, c, actor()), _("Paused."))


@requires("campaigns.send")
def campaign_resume(campaign_id: int) -> ResponseReturnValue:
    """Resume sending."""
    return _control(campaign_id, lambda db, c: launch.resume(db, c, actor()), _("Resumed."))


@requires("campaigns.send")
def campaign_cancel(campaign_id: int) -> ResponseReturnValue:
    """Cancel the campaign and its unsent deliveries."""
    return _control(campaign_id, lambda db, c: lifecycle.cancel(db, c, actor()), _("Cancelled."))


@requires("campaigns.edit")
def campaign_delete(campaign_id: int) -> ResponseReturnValue:
    """Delete a draft."""
    return run_action(
        lambda: drafts.delete(get_session(), get_campaign(campaign_id), actor()),
        success=_("Draft deleted."),
        redirect_to=url_for("admin.campaigns"),
        refused=url_for("admin.campaign", campaign_id=campaign_id),
        code=303,
    )


@requires("view")
def campaign_export(campaign_id: int) -> ResponseReturnValue:
    """Every delivery as CSV (formulas neutralised); addresses only for roles allowed to export them."""
    found = get_campaign(campaign_id).id
    with_addresses = can("exports.addresses")
    audit.record(
        get_session(), actor(), "export.deliveries", "campaign", found, {"addresses": with_addresses}
    )
    zone = organisation.zone(get_session())
    return csv_attachment(
        f"campaign-{found}-deliveries.csv",
        lambda session: csv_export.stream(
            export.header(with_addresses), export.rows(session, found, with_addresses), zone
        ),
    )
