"""The breach register for the DPO: incidents, their 72-hour clock, the notification and the legal notices."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from flask import Response, abort, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateTimeLocalField, IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from sender.db import utcnow
from sender.models import BreachIncident
from sender.services.accounts import organisation
from sender.services.errors import NotFound, ValidationFailed
from sender.services.records import breach_notices, breaches, times
from sender.web.admin.auth import actor, requires
from sender.web.admin.forms import Form, attach_errors, run_action
from sender.web.session import get_session, runtime


class IncidentForm(Form):
    """An incident's facts, effects and remediation; aware_at in the organisation's time zone."""

    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=breaches.TITLE_LIMIT)])
    facts = TextAreaField(
        _l("Nature of the breach"), validators=[DataRequired(), Length(max=breaches.TEXT_LIMIT)]
    )
    data_categories = StringField(_l("Data categories (comma-separated)"), validators=[Length(max=2000)])
    people_affected = IntegerField(
        _l("People affected (approximately)"), validators=[Optional(), NumberRange(0, breaches.COUNT_LIMIT)]
    )
    records_affected = IntegerField(
        _l("Records affected (approximately)"), validators=[Optional(), NumberRange(0, breaches.COUNT_LIMIT)]
    )
    likely_consequences = TextAreaField(
        _l("Likely consequences"), validators=[Length(max=breaches.TEXT_LIMIT)]
    )
    measures_taken = TextAreaField(
        _l("Measures taken or proposed"), validators=[Length(max=breaches.TEXT_LIMIT)]
    )
    high_risk = BooleanField(_l("High risk to the people affected (they must be told, Art. 34)"))
    aware_at = DateTimeLocalField(_l("Aware since"), validators=[DataRequired()])


class NotificationForm(Form):
    """The notification to the authority: when, its reference, and the reasons if it is late."""

    notified_at = DateTimeLocalField(_l("Notified at"), validators=[DataRequired()])
    reference = StringField(_l("Reference"), validators=[Length(max=breaches.REFERENCE_LIMIT)])
    late_reasons = TextAreaField(_l("Reasons for the delay"), validators=[Length(max=breaches.TEXT_LIMIT)])


class NoticeForm(Form):
    """A draft legal notice campaign to record as the incident's communication."""

    campaign_id = IntegerField(
        _l("Legal notice campaign id"), validators=[DataRequired(), NumberRange(1, 2**31 - 1)]
    )


class NoticeApprovalForm(Form):
    """The DPO's approval of a legal notice."""

    note = TextAreaField(_l("Note"), validators=[DataRequired(), Length(max=2000)])


def _org() -> organisation.Organisation:
    return organisation.effective(get_session(), runtime().settings)


def _aware(local: datetime, org: organisation.Organisation) -> datetime:
    """A wall-clock time typed in the organisation's zone, as an aware datetime."""
    return local.replace(tzinfo=org.zone)


def _incident_input(form: IncidentForm, org: organisation.Organisation) -> breaches.IncidentInput:
    categories = [c.strip() for c in (form.data_categories.data or "").split(",") if c.strip()]
    return breaches.IncidentInput.parse(
        {
            "title": form.title.data or "",
            "facts": form.facts.data or "",
            "data_categories": categories,
            "people_affected": form.people_affected.data or 0,
            "records_affected": form.records_affected.data or 0,
            "likely_consequences": form.likely_consequences.data or "",
            "measures_taken": form.measures_taken.data or "",
            "high_risk": bool(form.high_risk.data),
            "aware_at": _aware(form.aware_at.data, org) if form.aware_at.data else None,
        }
    )


def _incident(incident_id: int) -> BreachIncident:
    try:
        return breaches.get(get_session(), incident_id)
    except NotFound:
        abort(404)


@requires("breaches.read")
def breaches_index() -> ResponseReturnValue:
    """The register, with the form to record an incident."""
    return _index_page(IncidentForm(), 200)


def _index_page(form: IncidentForm, status: int) -> ResponseReturnValue:
    org, now = _org(), utcnow()
    incidents = breaches.all_incidents(get_session())
    return render_template(
        "admin/breaches/index.html",
        incidents=incidents,
        clocks={i.id: breaches.countdown(i, org.zone, now) for i in incidents},
        form=form,
        org=org,
        local=lambda moment: times.shown(moment, org.zone),
        late=breaches.is_late,
    ), status


@requires("breaches.edit")
def breach_create() -> ResponseReturnValue:
    """Record an incident; refusals are shown next to their fields."""
    form, org = IncidentForm(), _org()
    if not form.validate():
        return _index_page(form, 400)
    try:
        data = _incident_input(form, org)
    except ValidationFailed as exc:
        attach_errors(form, exc)
        return _index_page(form, 422)
    return run_action(
        lambda: breaches.create(get_session(), data, actor()),
        success=_("Incident recorded. Notify the authority before its deadline."),
        redirect_to=lambda incident: url_for("admin.breach", incident_id=incident.id),
        refused=lambda status: _index_page(form, status),
        form=form,
        code=303,
    )


def _detail_page(
    incident: BreachIncident,
    status: int = 200,
    *,
    edit: IncidentForm | None = None,
    notify: NotificationForm | None = None,
    notice: NoticeForm | None = None,
) -> ResponseReturnValue:
    org = _org()
    if edit is None:
        edit = IncidentForm(
            formdata=None,
            obj=incident,
            data_categories=", ".join(incident.data_categories),
            aware_at=incident.aware_at.replace(tzinfo=UTC).astimezone(org.zone).replace(tzinfo=None),
        )
    return render_template(
        "admin/breaches/detail.html",
        incident=incident,
        clock=breaches.countdown(incident, org.zone, utcnow()),
        late=breaches.is_late(incident),
        notices=breach_notices.of_incident(get_session(), incident.id),
        edit=edit,
        notify=notify or NotificationForm(formdata=None),
        notice=notice or NoticeForm(formdata=None),
        approval=NoticeApprovalForm(formdata=None),
        org=org,
        local=lambda moment: times.shown(moment, org.zone),
    ), status


@requires("breaches.read")
def breach_page(incident_id: int) -> ResponseReturnValue:
    """One incident: its clock, facts, notification and legal notices."""
    return _detail_page(_incident(incident_id))


@requires("breaches.edit")
def breach_edit(incident_id: int) -> ResponseReturnValue:
    """Replace the incident's facts as they become known."""
    incident, form, org = _incident(incident_id), IncidentForm(), _org()
    if not form.validate():
        return _detail_page(incident, 400, edit=form)
    try:
        data = _incident_input(form, org)
    except ValidationFailed as exc:
        attach_errors(form, exc)
        return _detail_page(incident, 422, edit=form)
    return run_action(
        lambda: breaches.update(get_session(), incident_id, data, actor()),
        success=_("Incident updated."),
        redirect_to=url_for("admin.breach", incident_id=incident_id),
        refused=lambda status: _detail_page(_incident(incident_id), status, edit=form),
        form=form,
        code=303,
    )


@requires("breaches.edit")
def breach_notify(incident_id: int) -> ResponseReturnValue:
    """Record the notification to the authority; a late one is refused without its reasons, at the field."""
    incident, form, org = _incident(incident_id), NotificationForm(), _org()
    if not form.validate():
        return _detail_page(incident, 400, notify=form)
    try:
        data = breaches.NotificationInput.parse(
            {
                "notified_at": _aware(form.notified_at.data, org) if form.notified_at.data else None,
                "reference": form.reference.data or "",
                "late_reasons": form.late_reasons.data or "",
            }
        )
    except ValidationFailed as exc:
        attach_errors(form, exc)
        return _detail_page(incident, 422, notify=form)
    return run_action(
        lambda: breaches.record_notification(get_session(), incident_id, data, actor()),
        success=_("Notification recorded."),
        redirect_to=url_for("admin.breach", incident_id=incident_id),
        refused=lambda status: _detail_page(_incident(incident_id), status, notify=form),
        form=form,
        code=303,
    )


@requires("breaches.edit")
def breach_notice_attach(incident_id: int) -> ResponseReturnValue:
    """Record a draft legal notice as the communication to the people affected."""
    incident, form = _incident(incident_id), NoticeForm()
    if not form.validate():
        return _detail_page(incident, 400, notice=form)
    campaign_id = form.campaign_id.data or 0
    return run_action(
        lambda: breach_notices.attach(get_session(), incident_id, campaign_id, actor()),
        success=_("Legal notice recorded. It is sent once the DPO has approved it."),
        redirect_to=url_for("admin.breach", incident_id=incident_id),
        refused=lambda status: _detail_page(_incident(incident_id), status, notice=form),
        form=form,
        fields={NotFound: "campaign_id"},
        code=303,
    )


@requires("campaigns.approve")
def breach_notice_approve(incident_id: int, campaign_id: int) -> ResponseReturnValue:
    """Record the DPO's approval of a legal notice's content as it stands."""
    breach_notices.notice_of_incident(get_session(), incident_id, campaign_id)
    form = NoticeApprovalForm()
    if not form.validate():
        return _detail_page(_incident(incident_id), 400)
    return run_action(
        lambda: breach_notices.approve(get_session(), campaign_id, actor(), form.note.data or ""),
        success=_("Approval recorded: the notice may be sent from its campaign page."),
        redirect_to=url_for("admin.breach", incident_id=incident_id),
        code=303,
    )


@requires("breaches.read")
def breach_notification(incident_id: int, fmt: str) -> ResponseReturnValue:
    """The Art. 33(3) notification content as JSON or as a printable page (the export is audited)."""
    if fmt not in ("json", "html"):
        abort(404)
    _incident(incident_id)
    db, org = get_session(), _org()
    content: dict[str, Any] = breach_notices.export(db, incident_id, org.dpo_contact, actor(), fmt)
    if fmt == "json":
        return Response(
            json.dumps(content, indent=2, ensure_ascii=False),
            mimetype="application/json",
            headers={"Content-Disposition": f'attachment; filename="breach-{incident_id}-notification.json"'},
        )
    return render_template("admin/breaches/notification.html", content=content, org=org)
