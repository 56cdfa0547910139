"""The register of rights requests for the DPO: deadlines and days left, filters, and its CSV export."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Response, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SelectField

from sender.db import utcnow
from sender.models import RightsRequest
from sender.models.rights import REQUEST_STATUSES
from sender.services.accounts import organisation
from sender.services.records import audit, csv_export, times
from sender.services.rights import requests
from sender.web.admin.auth import actor, requires
from sender.web.admin.downloads import csv_attachment
from sender.web.admin.forms import Form, choices
from sender.web.session import get_session


@dataclass(frozen=True)
class Row:
    """One request as the register page shows it."""

    request: RightsRequest
    received: str
    deadline: str
    days_left: int
    overdue: bool


class RegisterFilter(Form):
    """The register's filters, read from the query string (a GET: no CSRF token)."""

    class Meta:
        csrf = False

    status = SelectField(_l("Status"), default="")
    overdue = BooleanField(_l("Overdue only"))


def _form() -> RegisterFilter:
    form = RegisterFilter(formdata=request.args)
    form.status.choices = choices([("", _("any")), *((s, s) for s in REQUEST_STATUSES)])
    return form


@requires("rights.read")
def register_page() -> ResponseReturnValue:
    """Every request under the filters, the nearest deadline first, times in the organisation's zone."""
    form = _form()
    db = get_session()
    if not form.validate():
        return render_template("admin/rights/register.html", form=form, rows=[], query={}), 400
    found = requests.listing(db, form.status.data or None, bool(form.overdue.data))
    now, zone = utcnow(), organisation.zone(db)
    rows = [
        Row(
            request=r,
            received=times.shown(r.received_at, zone),
            deadline=times.shown(requests.deadline(r), zone),
            days_left=requests.days_left(r, now),
            overdue=requests.is_overdue(r, now),
        )
        for r in found
    ]
    return render_template(
        "admin/rights/register.html",
        form=form,
        rows=rows,
        query={k: v for k, v in request.args.items() if v},
    )


@requires("rights.read")
def register_export() -> ResponseReturnValue:
    """The filtered register as CSV, streamed from a read-only session; the export is audited."""
    form = _form()
    if not form.validate():
        return Response(_("Invalid filter."), status=400, mimetype="text/plain")
    status, overdue = form.status.data or None, bool(form.overdue.data)
    db = get_session()
    zone = organisation.zone(db)
    audit.record(db, actor(), "rights.export", "rights_request", "register", {"status": status or ""})
    return csv_attachment(
        "rights-requests.csv",
        lambda session: csv_export.stream(
            list(requests.EXPORT_FIELDS), requests.export_rows(session, status, overdue), zone
        ),
    )
