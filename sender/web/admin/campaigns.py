"""Campaigns: compose (email, or SMS with a segment counter) with a live preview, test send, audience
preview, schedule, send, control, report."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import (
    Response,
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
from wtforms import DateTimeLocalField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Optional

from sender.db import utcnow
from sender.enums import Channel as ChannelName
from sender.models import Campaign, ContactList, Purpose
from sender.services.accounts import organisation
from sender.services.audience import lists as list_service
from sender.services.audience import segments
from sender.services.campaigns import deferral, drafts, export, launch, lifecycle
from sender.services.campaigns.schema import KINDS
from sender.services.consent import purposes
from sender.services.errors import ValidationFailed
from sender.services.messages import preview, sms
from sender.services.records import csv_export
from sender.services.records import dashboard as board
from sender.web import labels
from sender.web.admin.auth import actor, can, requires
from sender.web.admin.downloads import csv_attachment
from sender.web.admin.forms import Form, choices, run_action
from sender.web.session import get_session, runtime

_LINE = re.compile(r"^line (\d+):")
# The rendered message, alone in a sandboxed frame: its own inline styles, nothing else.
MESSAGE_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; frame-ancestors 'self'; sandbox"
)


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
    body_html = TextAreaField(_l("HTML body (optional)"), validators=[Optional()])


class TestSendForm(Form):
    """Where to send a test message."""

    address = StringField(_l("Send a test to"), validators=[DataRequired()])


class ScheduleForm(Form):
    """When to launch, in the organisation's time zone."""

    when = DateTimeLocalField(_l("Launch at"), validators=[DataRequired()])


def _campaign(campaign_id: int) -> Campaign:
    return lifecycle.get(get_session(), campaign_id)


def _compose_form(campaign: Campaign | None = None) -> CampaignForm:
    db = get_session()
    data = None
    if campaign is not None and request.method == "GET":
        purpose = db.get(Purpose, campaign.purpose_id)
        data = {
            "name": campaign.name,
            "channel": campaign.channel,
            "purpose": purpose.slug if purpose else "",
            "kind": campaign.kind,
            "lists": [lst.id for lst in campaign.lists],
            "segments": segments.of_campaign(db, campaign.id),
            "subject": campaign.subject,
            "body_text": campaign.body_text,
            "body_html": campaign.body_html,
        }
    form = CampaignForm(data=data)
    form.purpose.choices = choices((p.slug, p.name) for p in purposes.all_purposes(db))
    form.lists.choices = [
        (s.list.id, f"{s.list.name} ({s.member_count})") for s in list_service.summaries(db)
    ]
    form.segments.choices = [(s.id, s.name) for s in segments.all_segments(db)]
    return form


def _form_data(form: CampaignForm) -> dict[str, Any]:
    return {name: form[name].data for name in form.data if name != "csrf_token"}


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
    if request.method == "POST":
        if form.validate():
            return run_action(
                lambda: drafts.save(get_session(), campaign, _form_data(form), actor()),
                success=_("Draft saved."),
                redirect_to=lambda saved: url_for("admin.campaign", campaign_id=saved.id),
                refused=lambda refusal: _compose_page(form, campaign, refusal),
                form=form,
            )
        status = 400
    return _compose_page(form, campaign, status)


def _compose_page(form: CampaignForm, campaign: Campaign | None, status: int) -> ResponseReturnValue:
    excerpts = {
        name: excerpt(form[name].data or "", error)
        for name in ("subject", "body_text", "body_html")
        for error in form[name].errors[:1]
    }
    counter = _sms_counter(form.kind.data, form.body_text.data) if form.channel.data == "sms" else None
    return render_template(
        "admin/campaigns/compose.html", form=form, campaign=campaign, excerpts=excerpts, counter=counter
    ), status


def _sms_count(kind: str, body_text: str) -> sms.SmsPreview:
    """The SMS a text makes, mentions included, as the API previews it; ValidationFailed for a bad template."""
    if body_text.strip():
        # Checked as when saved: the preview renders only templates that compile and fit.
        sms.validate_sms_body(body_text)
    return sms.preview(runtime().settings, Campaign(channel="sms", kind=kind, body_text=body_text))


def _sms_counter(kind: str | None, body_text: str | None) -> sms.SmsPreview | None:
    """The counter shown without JavaScript; None when the text does not render (its error is shown)."""
    try:
        return _sms_count(kind or "marketing", body_text or "")
    except ValidationFailed:
        return None


@requires("view")
def campaigns_index() -> ResponseReturnValue:
    """Every campaign, newest first, with its progress."""
    db = get_session()
    rows = db.scalars(select(Campaign).order_by(Campaign.id.desc()).limit(200)).all()
    reports = lifecycle.reports_for(db, [c.id for c in rows])
    org = organisation.effective(db, runtime().settings)
    return render_template(
        "admin/campaigns/index.html",
        rows=[(c, board.progress_from(c, reports[c.id].by_status)) for c in rows],
        local=lambda moment: _local(moment, org),
    )


def _local(moment: datetime | None, org: organisation.Organisation) -> str:
    if moment is None:
        return ""
    return moment.replace(tzinfo=UTC).astimezone(org.zone).strftime("%Y-%m-%d %H:%M %Z")


@requires("campaigns.edit")
def campaign_new() -> ResponseReturnValue:
    """Compose a new draft."""
    return _compose(None)


@requires("campaigns.edit")
def campaign_edit(campaign_id: int) -> ResponseReturnValue:
    """Edit a draft."""
    campaign = _campaign(campaign_id)
    if campaign.status != "draft":
        flash(_("Only a draft can be edited."), "error")
        return redirect(url_for("admin.campaign", campaign_id=campaign_id))
    return _compose(campaign)


@requires("campaigns.edit")
def campaign_live_preview() -> ResponseReturnValue:
    """Render the form as posted (not saved) for the compose page's live preview; JSON."""
    db = get_session()
    form = _compose_form()
    purpose = db.scalar(select(Purpose).where(Purpose.slug == (form.purpose.data or "")))
    if purpose is None:
        return jsonify({"errors": {"purpose": "choose a purpose"}}), 422
    draft = Campaign(
        id=0,
        name=form.name.data or "",
        purpose_id=purpose.id,
        channel="email",
        kind=form.kind.data or "marketing",
        subject=form.subject.data or "",
        body_text=form.body_text.data or "",
        body_html=form.body_html.data or "",
    )
    # The sample is the first member of the chosen lists, as on the saved campaign's page.
    draft.lists = list(db.scalars(select(ContactList).where(ContactList.id.in_(form.lists.data or []))))
    try:
        rendered = preview.render(runtime(), db, draft, preview.sample_contact(db, draft, None))
    except ValidationFailed as exc:
        return jsonify(
            {
                "errors": exc.errors,
                "excerpts": {k: excerpt(form[k].data or "", v) for k, v in exc.errors.items() if k in form},
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
def campaign_page(campaign_id: int) -> ResponseReturnValue:
    """Status, progress, report, the rendered message and the actions the campaign's state allows."""
    db = get_session()
    campaign = _campaign(campaign_id)
    sample = preview.sample_contact(db, campaign, request.args.get("sample"))
    rendered, render_error, sms_preview = None, None, None
    try:
        if campaign.channel == "sms":
            sms_preview = sms.preview(runtime().settings, campaign)
        else:
            rendered = preview.render(runtime(), db, campaign, sample)
    except ValidationFailed as exc:
        render_error = exc.message
    org = organisation.effective(db, runtime().settings)
    report = lifecycle.report_for(db, campaign.id)
    return render_template(
        "admin/campaigns/detail.html",
        campaign=campaign,
        purpose=db.get(Purpose, campaign.purpose_id),
        segment_names=[segments.get(db, sid).name for sid in segments.of_campaign(db, campaign.id)],
        # One grouped count serves both the progress bar and the report.
        progress=board.progress_from(campaign, report.by_status),
        report=report,
        rendered=rendered,
        render_error=render_error,
        sms_preview=sms_preview,
        deferred=deferral.slots(db, campaign.id),
        sample=sample,
        org=org,
        local=lambda moment: _local(moment, org),
        test_form=TestSendForm(),
        schedule_form=ScheduleForm(),
        audience=None,
    )


@requires("view")
def campaign_message(campaign_id: int) -> ResponseReturnValue:
    """The rendered HTML part alone, for the preview frame."""
    db = get_session()
    campaign = _campaign(campaign_id)
    try:
        rendered = preview.render(
            runtime(), db, campaign, preview.sample_contact(db, campaign, request.args.get("sample"))
        )
    except ValidationFailed as exc:
        return Response(exc.message, 422, mimetype="text/plain")
    response = Response(rendered.html or "<pre>(no HTML part)</pre>", mimetype="text/html")
    response.headers["Content-Security-Policy"] = MESSAGE_CSP
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


@requires("view")
def campaign_audience(campaign_id: int) -> ResponseReturnValue:
    """Who launching now would reach, and how many would be skipped, by reason (writes nothing)."""
    campaign = _campaign(campaign_id)
    result = lifecycle.preview(get_session(), campaign)
    return render_template("admin/campaigns/audience.html", campaign=campaign, result=result)


@requires("campaigns.edit")
def campaign_test(campaign_id: int) -> ResponseReturnValue:
    """Send one message marked as a test to a typed address; nobody's consent changes."""
    db = get_session()
    campaign = _campaign(campaign_id)
    form = TestSendForm()
    if not form.validate():
        flash(_("Type the address to send the test to."), "error")
        return redirect(url_for("admin.campaign", campaign_id=campaign_id))
    return run_action(
        lambda: preview.test_send(
            runtime(),
            db,
            campaign,
            preview.sample_contact(db, campaign, None),
            form.address.data or "",
            actor(),
        ),
        success=_("Test message sent."),
        redirect_to=url_for("admin.campaign", campaign_id=campaign_id),
    )


def _control(
    campaign_id: int, action: Callable[[Session, Campaign], object], done: str
) -> ResponseReturnValue:
    campaign = _campaign(campaign_id)
    return run_action(
        lambda: action(get_session(), campaign),
        success=done,
        redirect_to=url_for("admin.campaign", campaign_id=campaign_id),
        code=303,
    )


@requires("campaigns.send")
def campaign_send(campaign_id: int) -> ResponseReturnValue:
    """Launch now."""
    return _control(
        campaign_id,
        lambda db, c: launch.send(db, runtime().settings, c.id, actor(), now=True),
        _("Sending started."),
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
        _("Launch scheduled for %(when)s.", when=_local(when, org)),
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
        lambda: drafts.delete(get_session(), _campaign(campaign_id), actor()),
        success=_("Draft deleted."),
        redirect_to=url_for("admin.campaigns"),
        refused=url_for("admin.campaign", campaign_id=campaign_id),
        code=303,
    )


@requires("view")
def campaign_export(campaign_id: int) -> ResponseReturnValue:
    """Every delivery as CSV (formulas neutralised); addresses only for roles allowed to export them."""
    found = _campaign(campaign_id).id
    with_addresses = can("exports.addresses")
    return csv_attachment(
        f"campaign-{found}-deliveries.csv",
        lambda session: csv_export.stream(
            export.header(with_addresses), export.rows(session, found, with_addresses)
        ),
    )
