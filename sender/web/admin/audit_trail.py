"""The audit trail for the DPO: filter it, export it (CSV, JSON), and verify it from the browser."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, time, timedelta

from flask import Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session
from wtforms import DateField, IntegerField, StringField
from wtforms.validators import Length, NumberRange, Optional

from sender.services.accounts import organisation
from sender.services.records import audit, csv_export
from sender.web.admin.auth import actor, requires
from sender.web.admin.downloads import attachment, csv_attachment
from sender.web.admin.forms import Form
from sender.web.session import get_session, runtime


class FilterForm(Form):
    """The trail's filters, read from the query string (a GET: no CSRF token)."""

    class Meta:
        csrf = False

    action = StringField(_l("Action"), validators=[Optional(), Length(max=64)])
    actor = StringField(_l("Actor"), validators=[Optional(), Length(max=64)])
    subject = StringField(_l("Subject id"), validators=[Optional(), Length(max=64)])
    since = DateField(_l("From"), validators=[Optional()])
    until = DateField(_l("To"), validators=[Optional()])
    before = IntegerField(validators=[Optional(), NumberRange(min=1, max=2**62)])


def _filters(form: FilterForm) -> audit.Filters:
    until = datetime.combine(form.until.data, time()) + timedelta(days=1) if form.until.data else None
    return audit.Filters(
        action=(form.action.data or "").strip() or None,
        actor=(form.actor.data or "").strip() or None,
        subject=(form.subject.data or "").strip() or None,
        since=datetime.combine(form.since.data, time()) if form.since.data else None,
        until=until,
    )


def _form() -> FilterForm:
    return FilterForm(formdata=request.args)


@requires("audit.read")
def audit_page() -> ResponseReturnValue:
    """Newest events first, 100 a page, under the filters; the last verification's result on top."""
    form = _form()
    db = get_session()
    if not form.validate():
        return render_template("admin/audit.html", form=form, events=[], last=None, more=False), 400
    events = audit.page(db, _filters(form), before_id=form.before.data, limit=101)
    return render_template(
        "admin/audit.html",
        form=form,
        events=events[:100],
        more=len(events) > 100,
        last=audit.last_verification(db),
        query={k: v for k, v in request.args.items() if k != "before" and v},
    )


@requires("audit.read")
def audit_export(fmt: str) -> ResponseReturnValue:
    """The filtered trail as CSV or JSON, streamed from a read-only session; the export itself is audited."""
    form = _form()
    if fmt not in ("csv", "json") or not form.validate():
        return Response(_("Invalid filter."), status=400, mimetype="text/plain")
    filters = _filters(form)
    audit.record(get_session(), actor(), "audit.export", "audit", "trail", {"format": fmt})
    if fmt == "csv":
        zone = organisation.zone(get_session())
        fields = list(audit.EXPORT_FIELDS)
        return csv_attachment(
            "audit-trail.csv",
            lambda session: csv_export.stream(
                fields,
                (
                    [json.dumps(v) if k == "details" else v for k, v in row.items()]
                    for row in audit.export_rows(session, filters)
                ),
                zone,
            ),
        )

    def chunks(session: Session) -> Iterator[str]:
        yield "[\n"
        for n, row in enumerate(audit.export_rows(session, filters)):
            yield ("" if n == 0 else ",\n") + json.dumps(row, sort_keys=True)
        yield "\n]\n"

    return attachment("audit-trail.json", "application/json", chunks)


@requires("audit.read")
def audit_verify() -> ResponseReturnValue:
    """Verify the chain and its checkpoints now, and record the result in the trail."""
    result = audit.verify_and_record(get_session(), runtime().settings.secret_keys, actor())
    if result.ok:
        flash(
            _(
                "The audit trail is intact: %(n)s events, %(c)s checkpoints.",
                n=result.events,
                c=result.checkpoints,
            ),
            "success",
        )
    else:
        flash(_("The audit trail was tampered with: %(problem)s", problem=result.problem or ""), "error")
    return redirect(url_for("admin.audit"))
