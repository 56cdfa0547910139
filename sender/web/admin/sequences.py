"""Sequences in the staff pages: the list, the builder, a sequence's page (steps, previews, funnel chart),
activation and pause.

The rules live in services/sequences, the same functions the JSON API calls: this module parses the forms
and presents what the services say.
"""

from __future__ import annotations

from typing import Any

from flask import abort, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import FieldList, FormField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from sender.channels.base import get_channel
from sender.enums import BodyFormat, DelayUnit
from sender.enums import Channel as ChannelName
from sender.models import Purpose, Sequence
from sender.services.audience import lists, segments
from sender.services.campaigns.schema import NAME_LIMIT
from sender.services.consent import purposes
from sender.services.errors import NotFound, ValidationFailed
from sender.services.sequences import build, report, states
from sender.services.sequences.schema import FIELD_LIMIT, MAX_DELAY, SequenceInput
from sender.web import charts, labels
from sender.web.admin.auth import actor, requires
from sender.web.admin.forms import Form, choices, run_action
from sender.web.labels import say
from sender.web.session import get_session, runtime

# Step slots of the builder; an empty slot (no subject, no body) is no step.
STEP_SLOTS = 5


class StepForm(Form):
    """One step: its wait and its message."""

    class Meta:
        csrf = False  # a part of the sequence form, which carries the token

    channel = SelectField(_l("Channel"), default=ChannelName.EMAIL)
    delay_value = IntegerField(_l("Wait"), default=0, validators=[Optional(), NumberRange(0, MAX_DELAY)])
    delay_unit = SelectField(_l("Unit"), default=DelayUnit.DAYS)
    at_time = StringField(_l("Then at (HH:MM, optional)"), validators=[Optional(), Length(max=5)])
    subject = StringField(_l("Subject"), validators=[Optional(), Length(max=255)])
    body_source = TextAreaField(_l("Body (Markdown)"), validators=[Optional()])
    body_text = TextAreaField(_l("Text (SMS)"), validators=[Optional()])

    def empty(self) -> bool:
        """Nothing written in this slot."""
        return not (
            (self.subject.data or "").strip()
            or (self.body_source.data or "").strip()
            or (self.body_text.data or "").strip()
        )

    def as_input(self) -> dict[str, Any]:
        """The step as the service's input model takes it."""
        # A channel whose message is more than its text (email) is written in Markdown, its text derived.
        # An unknown channel is the input model's to refuse, with its field named.
        known = self.channel.data in tuple(ChannelName)
        email = known and not get_channel(self.channel.data).content.text_only
        return {
            "channel": self.channel.data,
            "delay_value": self.delay_value.data or 0,
            "delay_unit": self.delay_unit.data,
            "at_time": (self.at_time.data or "").strip() or None,
            "subject": self.subject.data or "" if email else "",
            "body_format": BodyFormat.MARKDOWN if email else BodyFormat.HTML,
            "body_source": self.body_source.data or "" if email else "",
            "body_text": "" if email else self.body_text.data or "",
            "body_text_derived": email,
        }


class SequenceForm(Form):
    """A sequence: name, purpose, trigger and its steps."""

    name = StringField(_l("Name (internal)"), validators=[DataRequired(), Length(max=NAME_LIMIT)])
    purpose = SelectField(_l("Purpose"), validators=[DataRequired()])
    trigger = SelectField(_l("Trigger"), validators=[DataRequired()])
    trigger_list_id = SelectField(_l("List (for “added to a list”)"), validators=[Optional()])
    trigger_segment_id = SelectField(_l("Segment (for “entering a segment”)"), validators=[Optional()])
    trigger_field = StringField(
        _l("Date attribute (for “a date field”)"), validators=[Optional(), Length(max=FIELD_LIMIT)]
    )
    steps = FieldList(FormField(StepForm), min_entries=STEP_SLOTS, max_entries=STEP_SLOTS)

    def fill_choices(self) -> None:
        """The options of every select, from the database and the code sets."""
        db = get_session()
        self.purpose.choices = choices((p.slug, p.name) for p in purposes.all_purposes(db))
        self.trigger.choices = choices(labels.choices_of("SequenceTrigger"))
        self.trigger_list_id.choices = choices(
            [("", "—"), *((str(s.list.id), s.list.name) for s in lists.summaries(db))]
        )
        self.trigger_segment_id.choices = choices(
            [("", "—"), *((str(s.id), s.name) for s in segments.all_segments(db))]
        )
        for entry in self.steps.entries:
            entry.form.channel.choices = choices(labels.choices_of("Channel"))
            entry.form.delay_unit.choices = choices(labels.choices_of("DelayUnit"))

    def as_input(self) -> dict[str, Any]:
        """The sequence as the service's input model takes it."""
        chosen = lambda raw: int(raw) if raw and str(raw).isdigit() else None  # noqa: E731
        return {
            "name": self.name.data or "",
            "purpose": self.purpose.data or "",
            "trigger": self.trigger.data or "",
            "trigger_list_id": chosen(self.trigger_list_id.data),
            "trigger_segment_id": chosen(self.trigger_segment_id.data),
            "trigger_field": (self.trigger_field.data or "").strip() or None,
            "steps": [entry.form.as_input() for entry in self.filled()],
        }

    def filled(self) -> list[Any]:
        """The step slots written in, in order: the sequence's steps."""
        return [entry for entry in self.steps.entries if not entry.form.empty()]

    def place_step_errors(self, errors: dict[str, str]) -> dict[str, str]:
        """Put each step's refusals (`steps.N.field`, or `steps`: `N.field: reason`) beside its input in the
        slot it came from; returns the others."""
        filled, others = self.filled(), {}
        for key, message in errors.items():
            path = key.split(".")
            if key == "steps" and ": " in message and message.split(".", 1)[0].isdigit():
                where, message = message.split(": ", 1)
                path = ["steps", *where.split(".")]
            if len(path) == 3 and path[1].isdigit() and int(path[1]) < len(filled):
                slot = filled[int(path[1])].form
                target = slot._fields.get(path[2]) or slot._fields.get("body_source")
                if target is not None:
                    target.errors = [*target.errors, say(message)]
                    continue
            others[key] = message
        return others


def _sequence(sequence_id: int) -> Sequence:
    try:
        return build.get(get_session(), sequence_id)
    except NotFound:
        abort(404)


@requires("view")
def sequences_index() -> ResponseReturnValue:
    """Every sequence with its status, trigger and how many entered, are in it, completed and left."""
    db = get_session()
    rows = [(s, report.funnel(db, s)) for s in build.all_sequences(db)]
    return render_template("admin/sequences/index.html", rows=rows)


@requires("sequences.edit")
def sequence_new() -> ResponseReturnValue:
    """The builder: name, purpose, trigger and up to five steps, each with its wait and message."""
    form = SequenceForm()
    form.fill_choices()
    if request.method == "POST":
        if form.validate():
            return run_action(
                lambda: _save(form),
                success=_("Sequence saved as a draft. Preview its steps, then activate it."),
                redirect_to=lambda sequence: url_for("admin.sequence", sequence_id=sequence.id),
                refused=lambda status: _builder(form, status),
                form=form,
                code=303,
            )
        return _builder(form, 400)
    return _builder(form, 200)


def _save(form: SequenceForm) -> Sequence:
    """Parse and save the builder's sequence; refusals of a step land beside its inputs."""
    try:
        return build.save(get_session(), None, SequenceInput.parse(form.as_input()), actor())
    except ValidationFailed as exc:
        raise ValidationFailed(form.place_step_errors(dict(exc.errors))) from None


def _builder(form: SequenceForm, status: int) -> ResponseReturnValue:
    return render_template("admin/sequences/new.html", form=form), status


@requires("view")
def sequence_page(sequence_id: int) -> ResponseReturnValue:
    """A sequence: its trigger, each step with its counts and preview link, the funnel chart, the actions."""
    db = get_session()
    sequence = _sequence(sequence_id)
    figures = report.funnel(db, sequence)
    funnel = charts.funnel(
        _("People at each step"),
        _("Step"),
        [
            (_("Entered"), figures.entered),
            *((_("Step %(n)s sent", n=s.position + 1), s.sent) for s in figures.steps),
        ],
        _("People"),
    )
    return render_template(
        "admin/sequences/detail.html",
        sequence=sequence,
        purpose=db.get(Purpose, sequence.purpose_id),
        figures=figures,
        steps=list(zip(sequence.steps, figures.steps, strict=True)),
        funnel=funnel,
    )


@requires("view")
def sequence_step(sequence_id: int, step: int) -> ResponseReturnValue:
    """A step's message as the sample contact would get it (its text part; the subject)."""
    db = get_session()
    sequence = _sequence(sequence_id)
    try:
        shown = build.step_at(sequence, step - 1)
    except NotFound:
        abort(404)
    rendered, render_error = None, None
    try:
        rendered = report.preview(runtime(), db, sequence, shown.position)
    except ValidationFailed as exc:
        render_error = exc.message
    return render_template(
        "admin/sequences/step.html",
        sequence=sequence,
        step=shown,
        rendered=rendered,
        render_error=render_error,
    )


@requires("sequences.activate")
def sequence_activate(sequence_id: int) -> ResponseReturnValue:
    """Activate (or resume) the sequence."""
    sequence = _sequence(sequence_id)
    return run_action(
        lambda: states.change(get_session(), sequence, states.ACTIVATE, actor()),
        success=_("Sequence active: its trigger now enrols people."),
        redirect_to=url_for("admin.sequence", sequence_id=sequence_id),
        code=303,
    )


@requires("sequences.activate")
def sequence_pause(sequence_id: int) -> ResponseReturnValue:
    """Pause the sequence: nothing of it leaves and nobody enters until it is activated again."""
    sequence = _sequence(sequence_id)
    return run_action(
        lambda: states.change(get_session(), sequence, states.PAUSE, actor()),
        success=_("Sequence paused."),
        redirect_to=url_for("admin.sequence", sequence_id=sequence_id),
        code=303,
    )
