"""Requalification cycles: the list with each funnel, a cycle's page with the DPO's approval, and a new cycle.

The rules live in services/campaigns/requalify.py, the same functions the JSON API calls: this module
parses the forms, converts the organisation's local time to UTC, and presents what the service says.
"""

from __future__ import annotations

from datetime import UTC

from flask import abort, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import DateTimeLocalField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from sender.channels.base import get_channel
from sender.enums import Channel
from sender.models import Campaign, Purpose, Requalification, User
from sender.services.accounts import organisation
from sender.services.campaigns import lifecycle, requalify
from sender.services.campaigns.schema import NAME_LIMIT
from sender.services.consent import purposes
from sender.services.errors import Conflict, NotFound, ValidationFailed
from sender.services.messages import preview
from sender.services.records import times
from sender.web.admin.auth import actor, requires
from sender.web.admin.forms import Form, choices, run_action
from sender.web.session import get_session, runtime

# A request for consent goes by email: its subject has the email channel's limit.
SUBJECT_LIMIT = get_channel(Channel.EMAIL).content.limits["subject"]


class CycleForm(Form):
    """A request for consent to the legacy contacts of one purpose, with its deadline."""

    name = StringField(_l("Name (internal)"), validators=[DataRequired(), Length(max=NAME_LIMIT)])
    purpose = SelectField(_l("Purpose"), validators=[DataRequired()])
    deadline = DateTimeLocalField(_l("Deadline"), validators=[Optional()])
    subject = StringField(_l("Subject"), validators=[DataRequired(), Length(max=SUBJECT_LIMIT)])
    body_text = TextAreaField(_l("Text body"), validators=[DataRequired()])
    body_html = TextAreaField(_l("HTML body (optional)"), validators=[Optional()])


class ApprovalForm(Form):
    """The DPO's sign-off and why the request is lawful (R50)."""

    note = TextAreaField(_l("Note"), validators=[DataRequired(), Length(max=2_000)])


def _cycle(cycle_id: int) -> tuple[Campaign, Requalification]:
    db = get_session()
    try:
        campaign = lifecycle.get(db, cycle_id)
        return campaign, requalify.cycle_of(db, campaign)
    except (NotFound, Conflict):
        abort(404)


def _staff_name(who: str | None) -> str:
    """The approver as staff know them: the user's email for `user:<id>`, else the audit name."""
    if who is None:
        return ""
    kind, _sep, key = who.partition(":")
    user = get_session().get(User, int(key)) if kind == "user" and key.isdigit() else None
    return user.email if user is not None else who


@requires("view")
def requalification_index() -> ResponseReturnValue:
    """Every cycle, newest first, with its funnel and deadline."""
    db = get_session()
    rows = requalify.cycles(db)
    funnels = requalify.funnels(db, [campaign.id for campaign, _cycle in rows])
    slugs = {p.id: p.slug for p in purposes.all_purposes(db)}
    org = organisation.effective(db, runtime().settings)
    return render_template(
        "admin/requalification/index.html",
        rows=[(campaign, cycle, funnels[campaign.id]) for campaign, cycle in rows],
        slugs=slugs,
        org=org,
        local=lambda moment: times.shown(moment, org.zone),
    )


def _cycle_page(
    campaign: Campaign, cycle: Requalification, form: ApprovalForm, status: int = 200
) -> ResponseReturnValue:
    db = get_session()
    org = organisation.effective(db, runtime().settings)
    # The DPO approves the exact message: rendered as the worker will send it, for a sample person.
    rendered, render_error = None, None
    try:
        sample = preview.sample_contact()
        rendered = preview.render(runtime(), db, campaign, sample, requalify.message_context(db, campaign))
    except ValidationFailed as exc:
        render_error = exc.message
    return render_template(
        "admin/requalification/cycle.html",
        rendered=rendered,
        render_error=render_error,
        campaign=campaign,
        cycle=cycle,
        purpose=db.get(Purpose, campaign.purpose_id),
        funnel=requalify.funnel(db, campaign.id),
        approver=_staff_name(cycle.approved_by),
        author=_staff_name(campaign.created_by),
        form=form,
        org=org,
        local=lambda moment: times.shown(moment, org.zone),
    ), status


@requires("view")
def requalification_cycle(cycle_id: int) -> ResponseReturnValue:
    """One cycle: funnel, deadline in the organisation's time zone, approval, and the form to approve."""
    return _cycle_page(*_cycle(cycle_id), ApprovalForm())


@requires("campaigns.approve")
def requalification_approve(cycle_id: int) -> ResponseReturnValue:
    """Record the DPO's approval through the API's service; a refusal is shown next to the form."""
    campaign, cycle = _cycle(cycle_id)
    form = ApprovalForm()
    if not form.validate():
        return _cycle_page(campaign, cycle, form, 400)
    return run_action(
        lambda: requalify.approve(
            get_session(), runtime().settings, campaign.id, actor(), form.note.data or ""
        ),
        success=_("Approval recorded: the cycle may start."),
        redirect_to=url_for("admin.requalification_cycle", cycle_id=cycle_id),
        # Shown in the approval section (category "approval"); the page is re-rendered so the note stays.
        refused=lambda status: _cycle_page(*_cycle(cycle_id), form, status),
        category="approval",
        code=303,
    )


@requires("campaigns.edit")
def requalification_new() -> ResponseReturnValue:
    """Write a cycle: purpose, deadline in the organisation's time zone, subject and bodies (no promotion)."""
    db = get_session()
    settings = runtime().settings
    org = organisation.effective(db, settings)
    form = CycleForm()
    form.purpose.choices = choices((p.slug, p.name) for p in purposes.all_purposes(db))
    status = 200
    if request.method == "POST":
        if form.validate():
            local = form.deadline.data
            draft = requalify.Draft(
                name=form.name.data or "",
                purpose=form.purpose.data or "",
                subject=form.subject.data or "",
                body_text=form.body_text.data or "",
                body_html=form.body_html.data or "",
                # The form's wall-clock time is the organisation's; the service takes naive UTC.
                deadline=local.replace(tzinfo=org.zone).astimezone(UTC).replace(tzinfo=None)
                if local
                else None,
            )
            return run_action(
                lambda: requalify.create(db, settings, draft, actor()),
                success=_("Cycle created. It starts once the DPO has approved it."),
                redirect_to=lambda campaign: url_for("admin.requalification_cycle", cycle_id=campaign.id),
                refused=lambda refusal: _new_page(form, org, refusal),
                form=form,
                code=303,
            )
        status = 400
    return _new_page(form, org, status)


def _new_page(form: CycleForm, org: organisation.Organisation, status: int) -> ResponseReturnValue:
    return render_template(
        "admin/requalification/new.html",
        form=form,
        org=org,
        default_days=runtime().settings.requalification_deadline_days,
    ), status
