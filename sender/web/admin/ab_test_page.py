"""A campaign's A/B test page: its variants B to D beside the composer's content (A), each one's share, the
wait and how the winner is chosen. Saved through the same draft service as the composer, so the same rules
apply (a scheduled campaign returns to draft)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import Optional

from sender.channels.base import get_channel
from sender.enums import AbDecision, CampaignKind
from sender.models import Campaign
from sender.services.campaigns import ab_setup, drafts
from sender.services.campaigns.schema import MAX_VARIANTS
from sender.services.messages import variants
from sender.web import labels
from sender.web.admin.auth import actor, requires
from sender.web.admin.campaign_page import get_campaign
from sender.web.admin.forms import Form, choices, run_action
from sender.web.session import get_session

SLOTS = range(1, MAX_VARIANTS + 1)
REMOVE = "remove"


class AbTestForm(Form):
    """An A/B test: the composer's message is variant A; B, C and D are what their fields change."""

    # Where the test's refusals are shown (the schema names them `ab_test`).
    ab_test = HiddenField()
    subject_1 = StringField(_l("Subject of variant B"), validators=[Optional()])
    body_1 = TextAreaField(_l("Body of variant B"), validators=[Optional()])
    subject_2 = StringField(_l("Subject of variant C"), validators=[Optional()])
    body_2 = TextAreaField(_l("Body of variant C"), validators=[Optional()])
    subject_3 = StringField(_l("Subject of variant D"), validators=[Optional()])
    body_3 = TextAreaField(_l("Body of variant D"), validators=[Optional()])
    test_percent = IntegerField(
        _l("Share of the audience for each variant (%)"), default=10, validators=[Optional()]
    )
    wait_hours = IntegerField(_l("Hours before the winner is chosen"), default=4, validators=[Optional()])
    decide_by = SelectField(
        _l("How the winner is chosen"),
        choices=choices(labels.choices_of("AbDecision")),
        default=AbDecision.CLICKS,
    )


def _text_only(campaign: Campaign) -> bool:
    """The campaign's channel sends its text alone (SMS): its variants have no subject and no source."""
    return get_channel(campaign.channel).content.text_only


def _body_field(campaign: Campaign) -> str:
    """A text-only variant's body is its text; an email variant's is its source, in the campaign's format."""
    return "body_text" if _text_only(campaign) else "body_source"


def _stored(campaign: Campaign) -> dict[str, Any]:
    """The form's fields for the campaign's test (the defaults when it has none)."""
    test = ab_setup.input_of(campaign)
    if test is None:
        return {}
    data: dict[str, Any] = {
        "test_percent": test["test_percent"],
        "wait_hours": max(1, test["wait_minutes"] // 60),
        "decide_by": test["decide_by"],
    }
    for position, variant in enumerate(test["variants"], start=1):
        data[f"subject_{position}"] = variant["subject"]
        data[f"body_{position}"] = variant[_body_field(campaign)]
    return data


def _posted(form: AbTestForm, campaign: Campaign) -> dict[str, Any]:
    """The test as the campaign schema takes it: the variants whose subject or body is filled in."""
    body = _body_field(campaign)
    filled = [
        {"subject": form[f"subject_{n}"].data or "", body: form[f"body_{n}"].data or ""}
        for n in SLOTS
        if (form[f"subject_{n}"].data or "").strip() or (form[f"body_{n}"].data or "").strip()
    ]
    test: dict[str, Any] = {"variants": filled, "decide_by": form.decide_by.data}
    if form.test_percent.data is not None:
        test["test_percent"] = form.test_percent.data
    if form.wait_hours.data is not None:
        test["wait_minutes"] = form.wait_hours.data * 60
    return test


def _page(form: AbTestForm, campaign: Campaign, status: int) -> ResponseReturnValue:
    slots = [(n, variants.NAMES[n]) for n in SLOTS]
    return render_template(
        "admin/campaigns/ab_test.html",
        form=form,
        campaign=campaign,
        slots=slots,
        text_only=_text_only(campaign),
    ), status


@requires("campaigns.edit")
def campaign_ab_test(campaign_id: int) -> ResponseReturnValue:
    """Set up, change or remove a draft's A/B test."""
    campaign = get_campaign(campaign_id)
    back = url_for("admin.campaign", campaign_id=campaign_id)
    if campaign.status not in drafts.EDITABLE or campaign.kind != CampaignKind.MARKETING:
        flash(_("Only a marketing campaign not yet launched can have its A/B test set up."), "error")
        return redirect(back, 303)
    form = AbTestForm(data=_stored(campaign) if request.method == "GET" else None)
    if request.method == "GET":
        return _page(form, campaign, 200)
    if not form.validate():
        return _page(form, campaign, 400)
    removing = REMOVE in request.form
    session = get_session()
    data = {**drafts.stored(session, campaign), "ab_test": None if removing else _posted(form, campaign)}
    return run_action(
        lambda: drafts.save(session, campaign, data, actor()),
        success=_("A/B test removed.") if removing else _("A/B test saved."),
        redirect_to=back,
        refused=lambda status: _page(form, campaign, status),
        form=form,
        code=303,
    )
