"""The DPO's accountability records: the register of processing, the processors inventory, purposes' DPIAs."""

from __future__ import annotations

from flask import Response, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import DateField, SelectField, SelectMultipleField, StringField, widgets
from wtforms.validators import DataRequired, Length, Optional

from sender.channels.base import get_channel
from sender.models import Campaign, PurposeDpia
from sender.services.campaigns import states
from sender.services.consent import purposes
from sender.services.errors import NotFound
from sender.services.records import audit, dpia, launch_check, processors, register
from sender.web import labels
from sender.web.admin.auth import actor, requires
from sender.web.admin.forms import Form, choices, run_action
from sender.web.admin.security import CSP
from sender.web.session import get_session, runtime

MEDIA = {"csv": "text/csv", "json": "application/json", "html": "text/html"}


class ProcessorForm(Form):
    """The facts of one processor."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=processors.MAX_TEXT)])
    role = StringField(_l("Role"), validators=[DataRequired(), Length(max=processors.MAX_TEXT)])
    country = StringField(_l("Country (ISO code, e.g. FR, US)"), validators=[Optional(), Length(max=2)])
    transfer_mechanism = SelectField(
        _l("Transfer mechanism"),
        choices=choices([("", "—"), *labels.choices_of("TransferMechanism")]),
        validate_choice=False,
    )
    contract_ref = StringField(_l("Contract / DPA reference"), validators=[Length(max=processors.MAX_TEXT)])
    since = DateField(_l("Processor since"), validators=[Optional()])


class DpiaForm(Form):
    """Whether a purpose needs a DPIA, and the record of the one done."""

    reasons = SelectMultipleField(
        _l("A DPIA is required because of"),
        choices=choices(labels.choices_of("DpiaReason")),
        option_widget=widgets.CheckboxInput(),
        widget=widgets.ListWidget(prefix_label=False),
    )
    reference = StringField(_l("DPIA reference"), validators=[Length(max=dpia.MAX_TEXT)])
    assessed_on = DateField(_l("Date of the DPIA"), validators=[Optional()])
    outcome = SelectField(
        _l("Outcome"), choices=choices([("", "—"), *labels.choices_of("DpiaOutcome")]), validate_choice=False
    )
    reviewer = StringField(_l("Reviewer"), validators=[Length(max=dpia.MAX_TEXT)])


def launch_blockers(campaign: Campaign) -> dict[str, str]:
    """What the records say against launching a campaign still to launch (shown on its pages)."""
    if campaign.status not in states.LAUNCH.sources:
        return {}
    channel = get_channel(campaign.channel)
    return launch_check.problems(get_session(), runtime().settings, campaign, channel)


@requires("records.read")
def register_page() -> ResponseReturnValue:
    """The register as it stands, each incomplete entry marked with what it misses."""
    built = register.build(get_session(), runtime().settings)
    return render_template("admin/records/register.html", register=built, fields=register.FIELDS)


@requires("records.read")
def register_export(fmt: str) -> ResponseReturnValue:
    """The register as CSV, JSON or a printable HTML page; the export is audited."""
    if fmt not in register.FORMATS:
        abort(404)
    db = get_session()
    text = register.export(register.build(db, runtime().settings), fmt)
    audit.record(db, actor(), "register.export", "register", "register", {"format": fmt})
    if fmt == "html":
        # Shown as a page to print: its inline style is allowed by hash, nothing else is loosened.
        policy = CSP.replace("style-src 'self'", f"style-src 'self' {register.style_hash()}")
        headers = {"Content-Security-Policy": policy}
    else:
        headers = {"Content-Disposition": f'attachment; filename="register.{fmt}"'}
    return Response(text, mimetype=MEDIA[fmt], headers=headers)


@requires("records.read")
def processors_page() -> ResponseReturnValue:
    """The processors and transfers inventory; `?key=` opens the form of a new processor."""
    key = request.args.get("key", "")
    if processors.KEY.fullmatch(key):
        return redirect(url_for("admin.processor_edit", key=key), 303)
    entries = processors.inventory(get_session(), runtime().settings)
    return render_template("admin/records/processors.html", entries=entries)


@requires("records.edit")
def processor_edit(key: str) -> ResponseReturnValue:
    """Complete or correct one processor's facts (a new key adds a processor)."""
    db = get_session()
    try:
        entry: processors.Entry | None = processors.get(db, runtime().settings, key)
    except NotFound:
        entry = None
    form = ProcessorForm(obj=entry if request.method == "GET" else None)
    if request.method == "POST" and form.validate():
        facts = processors.Facts(
            name=form.name.data or "",
            role=form.role.data or "",
            country=form.country.data or None,
            transfer_mechanism=form.transfer_mechanism.data or None,
            contract_ref=form.contract_ref.data or None,
            since=form.since.data,
        )
        return run_action(
            lambda: processors.record(db, key, facts, actor()),
            success=_("Processor saved."),
            redirect_to=url_for("admin.processors"),
            refused=lambda status: _processor_page(form, key, entry, status),
            form=form,
        )
    return _processor_page(form, key, entry, 400 if request.method == "POST" else 200)


def _processor_page(
    form: ProcessorForm, key: str, entry: processors.Entry | None, status: int
) -> ResponseReturnValue:
    return render_template("admin/records/processor.html", form=form, key=key, entry=entry), status


@requires("records.edit")
def purpose_dpia(slug: str) -> ResponseReturnValue:
    """Say whether a purpose needs a DPIA and attach its record; its campaigns wait until it is cleared."""
    db = get_session()
    purpose = purposes.get(db, slug)
    row = dpia.of(db, purpose) or PurposeDpia(reasons=[])
    form = DpiaForm(obj=row if request.method == "GET" else None)
    if request.method == "POST" and form.validate():
        reasons = list(form.reasons.data or [])
        filled = any((form.reference.data, form.assessed_on.data, form.outcome.data, form.reviewer.data))
        assessment = dpia.Assessment(
            form.reference.data or "",
            form.assessed_on.data,
            form.outcome.data or "",
            form.reviewer.data or "",
        )

        def save() -> None:
            dpia.require(db, slug, reasons, actor())
            if filled:
                dpia.attach(db, slug, assessment, actor())

        return run_action(
            save,
            success=_("DPIA saved."),
            redirect_to=url_for("admin.purpose", slug=slug),
            refused=lambda status: _dpia_page(form, purpose.slug, row, status),
            form=form,
        )
    return _dpia_page(form, purpose.slug, row, 400 if request.method == "POST" else 200)


def _dpia_page(form: DpiaForm, slug: str, row: PurposeDpia, status: int) -> ResponseReturnValue:
    return render_template(
        "admin/records/dpia.html", form=form, slug=slug, blocking=dpia.blocking(row)
    ), status
