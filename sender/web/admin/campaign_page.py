"""A campaign's own page: status, progress, report, the rendered message (for the sample contact or one the
sender picks; of the A/B variant picked) in a sandboxed frame under the message's CSP, or an SMS's texts, and
test sends on the campaign's channel (emails, or SMS to typed phone numbers)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from flask import Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_timedelta
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import DateTimeLocalField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Optional

from sender import work
from sender.channels.base import SendResult
from sender.enums import CampaignStatus, Channel
from sender.models import Campaign, Contact, Purpose
from sender.services.accounts import organisation
from sender.services.audience import segments
from sender.services.campaigns import ab_tests, deferral, field_gaps, lifecycle, requalify, states
from sender.services.composer import checks
from sender.services.deliverability import rates
from sender.services.errors import ValidationFailed
from sender.services.messages import preview, sms, variants
from sender.services.records import dashboard as board
from sender.services.records import times
from sender.web.admin import report_charts
from sender.web.admin.auth import actor, can, requires
from sender.web.admin.forms import Form, run_action
from sender.web.admin.records import launch_blockers
from sender.web.session import get_session, runtime

# The rendered message, alone in a sandboxed frame: its own inline styles and images (https, or this
# site's own /media/ images whatever its scheme), nothing else.
MESSAGE_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' https: data:; frame-ancestors 'self'; "
    "sandbox"
)


class TestSendForm(Form):
    """Where to send a test message, and whose data it shows (the sample contact unless one is picked)."""

    address = TextAreaField(_l("Send a test to"), validators=[DataRequired()])
    sample = StringField(_l("With the data of the contact (address)"), validators=[Optional()])
    # Offered only with an A/B test; the letter is resolved (or refused with a 404) by variants.named.
    variant = SelectField(_l("Variant of the test message"), validate_choice=False, validators=[Optional()])


class TestSmsForm(TestSendForm):
    """A test of an SMS campaign: phone numbers where an email's test takes addresses."""

    address = TextAreaField(_l("Phone numbers for the test"), validators=[DataRequired()])


class SampleForm(Form):
    """The contact whose data the page's preview shows, picked by address (posted, never in the URL)."""

    preview_address = StringField(_l("Preview for the contact with address"), validators=[Optional()])


class ScheduleForm(Form):
    """When to launch, in the organisation's time zone."""

    when = DateTimeLocalField(_l("Launch at"), validators=[DataRequired()])


def _test_form(campaign: Campaign, **options: object) -> TestSendForm:
    """The test form of the campaign's channel (`formdata=None`: not filled from the request)."""
    return (TestSmsForm if campaign.channel == Channel.SMS else TestSendForm)(**options)


def get_campaign(campaign_id: int) -> Campaign:
    """The campaign, or the app-wide 404."""
    return lifecycle.get(get_session(), campaign_id)


def message_response(html: str | None, status: int = 200) -> Response:
    """A message's HTML part (or a plain text in its place) under the message's own CSP, frameable here only."""
    if html is None or status != 200:
        response = Response(html or _("(no HTML part)"), status, mimetype="text/plain")
    else:
        response = Response(html, status, mimetype="text/html")
    response.headers["Content-Security-Policy"] = MESSAGE_CSP
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


def _previewed() -> Contact:
    # `?contact=` holds an opaque public id: an address never goes into a URL (nor its logs).
    return preview.previewed_contact(get_session(), request.args.get("contact"))


def _shown(campaign: Campaign) -> int | None:
    """The A/B variant the page shows (`?variant=B`; A by default); NotFound, the app's 404, for an unknown one."""
    return variants.named(campaign, request.args.get("variant"))


def _letter(campaign: Campaign, variant: int | None) -> str | None:
    """A variant's letter for the page's URLs: none for a campaign without a test."""
    return variants.name(variant) if campaign.ab_test is not None else None


@requires("view")
def campaign_page(campaign_id: int) -> ResponseReturnValue:
    """Status, progress, report, the rendered message and the actions the campaign's state allows."""
    campaign = get_campaign(campaign_id)
    return _detail_page(campaign, _test_form(campaign), SampleForm(formdata=None), 200)


@requires("campaigns.edit")
def campaign_checks(campaign_id: int) -> ResponseReturnValue:
    """Run every check before sending, the link check and SpamAssassin included, and show the page with them."""
    # A read-only unit, closed before the checks wait on other servers: no lock is held meanwhile.
    with work.reading(runtime().Session) as db:
        campaign = lifecycle.get(db, campaign_id)
        try:
            messages = preview.messages(
                runtime(), db, campaign, _previewed(), requalify.message_context(db, campaign)
            )
            settings = organisation.effective_settings(db, runtime().settings)
        except ValidationFailed:
            messages = None
        found = checks.run_each(settings, campaign, messages, network=True) if messages is not None else None
    campaign = get_campaign(campaign_id)
    return _detail_page(campaign, _test_form(campaign), SampleForm(formdata=None), 200, found)


def _detail_page(
    campaign: Campaign,
    test_form: TestSendForm,
    sample_form: SampleForm,
    status: int,
    checked: list[checks.Check] | None = None,
) -> ResponseReturnValue:
    db = get_session()
    sample = _previewed()
    shown = _shown(campaign)
    rendered, render_error, sms_preview, found = None, None, None, checked
    try:
        # Each preview is its channel's own (SMS: texts and segments; email: the MIME message); a channel
        # without one shows none, rather than another channel's.
        if campaign.channel == Channel.SMS:
            sms_preview = sms.preview(db, runtime().settings, campaign, shown)
        elif campaign.channel == Channel.EMAIL:
            # Every variant is rendered for its checks; the one shown is one of them, not a second rendering.
            messages = preview.messages(
                runtime(), db, campaign, sample, requalify.message_context(db, campaign)
            )
            rendered = preview.split(messages[shown])
            if found is None:
                found = checks.run_each(runtime().settings, campaign, messages)
    except ValidationFailed as exc:
        render_error = exc.message
    org = organisation.effective(db, runtime().settings)
    report = lifecycle.report_for(db, campaign.id)
    ab_test = ab_tests.report(db, campaign, report)
    if sample.id is not None and not sample_form.preview_address.data:
        sample_form.preview_address.data = sample.email
    letters = [variants.name(v) for v in variants.contents(campaign)] if campaign.ab_test is not None else []
    test_form.variant.choices = letters
    if not test_form.variant.data:
        test_form.variant.data = _letter(campaign, shown)
    return render_template(
        "admin/campaigns/detail.html",
        campaign=campaign,
        purpose=db.get(Purpose, campaign.purpose_id),
        segment_names=[segments.get(db, sid).name for sid in segments.of_campaign(db, campaign.id)],
        # One grouped count serves both the progress bar and the report.
        progress=board.progress_from(campaign, report.by_status),
        report=report,
        ab_test=ab_test,
        ab_wait=format_timedelta(timedelta(minutes=ab_test.wait_minutes)) if ab_test else "",
        charts=report_charts.campaign(db, campaign, report)
        if campaign.status != CampaignStatus.DRAFT
        else [],
        rendered=rendered,
        render_error=render_error,
        sms_preview=sms_preview,
        deferred=deferral.slots(db, campaign.id),
        sample=sample,
        sample_form=sample_form,
        # The A/B variant picker's letters (none without a test) and the one shown.
        letters=letters,
        shown=_letter(campaign, shown),
        org=org,
        local=lambda moment: times.shown(moment, org.zone),
        test_form=test_form,
        test_limit=runtime().settings.test_sends_per_hour,
        test_addresses=runtime().settings.composer.test_send_max_addresses,
        phone_region=runtime().settings.default_phone_region,
        checks=found,
        sample_name="{first_name} {last_name}".format(**preview.SAMPLE),
        schedule_form=ScheduleForm(),
        audience=None,
        blockers=launch_blockers(campaign),
        # Email only: bounces and complaints are reports about email.
        feedback_rates=rates.campaigns_total(db, [campaign.id])[campaign.id]
        if campaign.channel == Channel.EMAIL
        else None,
        guard=runtime().settings.guard,
        # Before a launch: who would get a message with an empty greeting (or its fallback).
        field_gaps=field_gaps.gaps(db, campaign)
        if campaign.status in states.LAUNCH.sources and campaign.kind != "requalification"
        else [],
    ), status


@requires("view")
def campaign_sample(campaign_id: int) -> ResponseReturnValue:
    """Preview the page for the contact with the posted address: back to the page naming it by public id."""
    campaign = get_campaign(campaign_id)
    shown = _letter(campaign, _shown(campaign))
    form = SampleForm()
    if not form.validate():
        return _detail_page(campaign, _test_form(campaign, formdata=None), form, 422)
    try:
        contact = preview.picked_contact(get_session(), form.preview_address.data, "preview_address")
    except ValidationFailed as exc:
        form.preview_address.errors = [exc.errors["preview_address"]]
        return _detail_page(campaign, _test_form(campaign, formdata=None), form, 422)
    wanted = contact.public_id if contact.id is not None else None
    return redirect(url_for("admin.campaign", campaign_id=campaign.id, contact=wanted, variant=shown), 303)


@requires("view")
def campaign_message(campaign_id: int) -> ResponseReturnValue:
    """The rendered HTML part alone, for the preview frame."""
    campaign = get_campaign(campaign_id)
    try:
        db = get_session()
        rendered = preview.render(
            runtime(), db, campaign, _previewed(), requalify.message_context(db, campaign), _shown(campaign)
        )
    except ValidationFailed as exc:
        return message_response(exc.message, 422)
    return message_response(rendered.html or None)


@requires("campaigns.edit")
def campaign_test(campaign_id: int) -> ResponseReturnValue:
    """Send one message marked as a test to each typed address (or phone number, for an SMS campaign), after the
    request commits; say how it went."""
    db = get_session()
    campaign = get_campaign(campaign_id)
    form = _test_form(campaign)
    if not form.validate():
        return _detail_page(campaign, form, SampleForm(formdata=None), 422)
    variant = variants.named(campaign, form.variant.data)

    def test_send() -> None:
        if form.sample.data and not can("contacts.see_addresses"):
            raise ValidationFailed({"sample": _("Your role may not see contacts: the sample is used.")})
        sample = preview.picked_contact(db, form.sample.data)
        preview.test_send(
            runtime(),
            db,
            campaign,
            sample,
            form.address.data or "",
            actor(),
            _teller(),
            requalify.message_context(db, campaign),
            variant,
        )

    return run_action(
        test_send,
        success=None,
        redirect_to=url_for("admin.campaign", campaign_id=campaign_id, variant=_letter(campaign, variant)),
        refused=lambda status: _detail_page(campaign, form, SampleForm(formdata=None), status),
        form=form,
    )


def _teller() -> Callable[[list[SendResult]], None]:
    """What flashes the transport's answers for test messages, once the request has committed."""
    # Translated now: after the commit the request's session may not read the organisation's language.
    # An address is named by its position, never written into the session cookie.
    sent_one, sent_many = _("Test message sent."), _("Test messages sent: %(count)s.", count="{count}")
    not_sent = _("The test message was not sent: %(reason)s", reason="{r}")
    not_sent_to = _(
        "Address %(number)s: the test message was not sent: %(reason)s", number="{n}", reason="{r}"
    )

    def tell(results: list[SendResult]) -> None:
        done = sum(1 for result in results if result.outcome == "sent")
        if done:
            flash(sent_one if done == 1 else sent_many.replace("{count}", str(done)), "success")
        for number, result in enumerate(results, start=1):
            if result.outcome != "sent":
                reason = result.detail or str(result.code or "")
                told = not_sent if len(results) == 1 else not_sent_to.replace("{n}", str(number))
                flash(told.replace("{r}", reason), "error")

    return tell
