"""Segment pages: an OR of AND-groups edited in one form, with a live count and preview before saving."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any

import wtforms
from flask import abort, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import DateField, FieldList, FormField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Optional

from sender.models import Segment
from sender.models.contacts import CHANNELS, CONTACT_STATUSES
from sender.services.audience import segments
from sender.services.consent import purposes
from sender.services.errors import Conflict, ValidationFailed
from sender.web import labels
from sender.web.admin.auth import actor, can, requires
from sender.web.admin.forms import Form, choices, run_action
from sender.web.session import get_session

# Blank rows offered beside the saved ones, so a condition or an OR group can be added without script.
SPARE_CONDITIONS = 2


class ConditionForm(wtforms.Form):
    """One condition on an imported attribute, or on the contact's country or language."""

    field = StringField(_l("Attribute (e.g. company, country, language)"), validators=[Optional()])
    op = SelectField(_l("Condition"), validators=[Optional()])
    value = StringField(_l("Value"), validators=[Optional()])


class GroupForm(wtforms.Form):
    """One AND-group: empty filters are ignored, the others must all match."""

    tags = StringField(_l("Has any of these tags (comma-separated)"), validators=[Optional()])
    status = SelectField(_l("Contact status"), validators=[Optional()])
    country = StringField(_l("Country (ISO code, e.g. FR)"), validators=[Optional()])
    locale = StringField(_l("Language (e.g. fr)"), validators=[Optional()])
    legacy = SelectField(_l("Legacy contacts"), validators=[Optional()])
    created_after = DateField(_l("Added on or after"), validators=[Optional()])
    consent_purpose = SelectField(_l("Consent for purpose"), validators=[Optional()])
    consent_channel = SelectField(_l("on channel"), validators=[Optional()])
    consent_state = SelectField(_l("is"), validators=[Optional()])
    attributes = FieldList(FormField(ConditionForm), min_entries=1)


class SegmentForm(Form):
    """A segment: its name and its groups (a contact in any group is a member)."""

    name = StringField(_l("Name"), validators=[DataRequired()])
    description = TextAreaField(_l("Description"), validators=[Optional()])
    groups = FieldList(FormField(GroupForm), min_entries=1)


def _group_data(group: Mapping[str, Any]) -> dict[str, Any]:
    """A stored group as the group form's data, with blank condition rows to fill in."""
    consent = group.get("consent") or {}
    created = group.get("created_after")
    return {
        "tags": ", ".join(group.get("tags", [])),
        "status": group.get("status", ""),
        "country": group.get("country", ""),
        "locale": group.get("locale", ""),
        "legacy": {True: "only", False: "exclude"}.get(group.get("legacy"), ""),  # type: ignore[arg-type]
        "created_after": date.fromisoformat(created) if created else None,
        "consent_purpose": consent.get("purpose", ""),
        "consent_channel": consent.get("channel", "email"),
        "consent_state": consent.get("state", "granted"),
        "attributes": [*group.get("attributes", []), *({} for _ in range(SPARE_CONDITIONS))],
    }


def _set_choices(form: SegmentForm) -> None:
    """The select options of every group (they depend on the purposes register)."""
    purpose_choices = choices(
        [("", _("(no consent filter)")), *((p.slug, p.name) for p in purposes.all_purposes(get_session()))]
    )
    for entry in form.groups:
        group = entry.form
        group.status.choices = choices(
            [("", _("any")), *labels.choices_of("ContactStatus", CONTACT_STATUSES)]
        )
        group.legacy.choices = choices([("", _("include")), ("exclude", _("exclude")), ("only", _("only"))])
        group.consent_purpose.choices = purpose_choices
        group.consent_channel.choices = choices(labels.choices_of("Channel", CHANNELS))
        group.consent_state.choices = choices(labels.choices_of("ConsentStatus", segments.CONSENT_STATES))
        for condition in group.attributes:
            condition.form.op.choices = choices(labels.choices_of("SegmentOperator"))


def _segment_form(segment: Segment | None = None) -> SegmentForm:
    data = None
    if request.method == "GET":
        groups = [*(segment.rules["groups"] if segment is not None else []), {}]
        data = {
            "name": segment.name if segment else "",
            "description": segment.description if segment else "",
            "groups": [_group_data(g) for g in groups],
        }
    form = SegmentForm(data=data)
    if request.method == "POST" and request.form.get("add_group"):
        form.groups.append_entry(_group_data({}))
    _set_choices(form)
    return form


def _group_rules(group: GroupForm) -> dict[str, Any]:
    rules: dict[str, Any] = {
        "tags": (group.tags.data or "").split(","),
        "status": group.status.data or None,
        "country": group.country.data or "",
        "locale": group.locale.data or "",
        "legacy": {"only": True, "exclude": False}.get(group.legacy.data or ""),
        "created_after": group.created_after.data.isoformat() if group.created_after.data else None,
        "attributes": [
            {"field": c.form.field.data or "", "op": c.form.op.data or "", "value": c.form.value.data or ""}
            for c in group.attributes
        ],
    }
    if group.consent_purpose.data:
        rules["consent"] = {
            "purpose": group.consent_purpose.data,
            "channel": group.consent_channel.data,
            "state": group.consent_state.data,
        }
    return rules


def _rules(form: SegmentForm) -> dict[str, Any]:
    return {"groups": [_group_rules(entry.form) for entry in form.groups]}


def _fields(form: wtforms.Form) -> Iterator[wtforms.Field]:
    """Every field of the form, nested groups and conditions included."""
    for field in form:
        if isinstance(field, FieldList):
            for entry in field:
                yield from _fields(entry.form)
        else:
            yield field


def _attach(form: SegmentForm, errors: Mapping[str, str]) -> None:
    """The service's errors next to their fields (`groups-0-attributes-1-value`)."""
    by_name = {field.name: field for field in _fields(form)}
    for name, message in errors.items():
        field = by_name.get(name, form.groups)
        field.errors = [*field.errors, message] if isinstance(field.errors, list) else [message]


def _rule_errors(form: SegmentForm) -> dict[str, str]:
    """What the service refuses in the form's rules, by field name."""
    errors: dict[str, str] = {}
    segments.clean_rules(get_session(), _rules(form), errors)
    return errors


@requires("view")
def segment_page(segment_id: int | None = None) -> ResponseReturnValue:
    """Create or edit a segment; shows how many contacts match now."""
    db = get_session()
    segment = segments.get(db, segment_id) if segment_id is not None else None
    form = _segment_form(segment)
    if request.method == "GET" or request.form.get("add_group"):
        return _segment_page(form, segment, 200)
    if not can("lists.edit"):
        abort(403)
    if not form.validate():
        return _segment_page(form, segment, 400)
    errors = _rule_errors(form)
    if errors:
        _attach(form, errors)
        return _segment_page(form, segment, 422)
    data = {"name": form.name.data, "description": form.description.data, "rules": _rules(form)}
    return run_action(
        lambda: segments.save(db, segment, data, actor()),
        success=_("Segment saved."),
        redirect_to=lambda saved: url_for("admin.segment", segment_id=saved.id),
        refused=lambda status: _segment_page(form, segment, status),
        form=form,
        fields={Conflict: "name"},
    )


def _segment_page(form: SegmentForm, segment: Segment | None, status: int) -> ResponseReturnValue:
    size = segments.count(get_session(), segment) if segment is not None else None
    return render_template("admin/lists/segment.html", form=form, segment=segment, size=size), status


@requires("view")
def segment_preview() -> ResponseReturnValue:
    """The live count and first members of the rules being edited, before saving (HTML fragment)."""
    form = _segment_form()
    groups_valid = form.groups.validate(form)
    try:
        if not groups_valid:
            raise ValidationFailed({})
        found = segments.preview(get_session(), _rules(form))
    except ValidationFailed as exc:
        _attach(form, exc.errors)
        invalid = [(field.label.text, field.errors) for field in _fields(form) if field.errors]
        return render_template("admin/lists/_segment_preview.html", invalid=invalid, found=None), 422
    return render_template("admin/lists/_segment_preview.html", invalid=[], found=found)


@requires("lists.edit")
def segment_delete(segment_id: int) -> ResponseReturnValue:
    """Delete a segment no campaign uses."""
    db = get_session()
    return run_action(
        lambda: segments.remove(db, segments.get(db, segment_id), actor()),
        success=_("Segment deleted."),
        redirect_to=url_for("admin.lists"),
        refused=url_for("admin.segment", segment_id=segment_id),
    )
