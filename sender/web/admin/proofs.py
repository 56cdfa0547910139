"""Proofs for the DPO: honouring of withdrawals (R77) per contact and for the organisation, consent proof (R2)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import Response, abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict
from wtforms import DateField
from wtforms.validators import DataRequired

from sender.models import Contact
from sender.services.accounts import organisation
from sender.services.audience.contacts import get_by_public_id
from sender.services.errors import NotFound
from sender.services.records import honouring
from sender.web.admin.auth import actor, requires
from sender.web.admin.forms import Form
from sender.web.session import get_session, runtime

FORMATS = ("json", "html")


class PeriodForm(Form):
    """The period of the organisation's proof, in days of the organisation's zone (a GET: no CSRF token)."""

    class Meta:
        csrf = False

    since = DateField(_l("From"), validators=[DataRequired()])
    until = DateField(_l("To"), validators=[DataRequired()])


def _contact(public_id: str) -> Contact:
    try:
        return get_by_public_id(get_session(), public_id)
    except NotFound:
        abort(404)


def _json(content: dict[str, Any], filename: str) -> Response:
    return Response(
        json.dumps(content, indent=2, ensure_ascii=False),
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _org() -> organisation.Organisation:
    return organisation.effective(get_session(), runtime().settings)


@requires("proofs.read")
def contact_honouring(public_id: str, fmt: str) -> ResponseReturnValue:
    """One person's withdrawals and what left after each, as JSON or a printable page (audited)."""
    if fmt not in FORMATS:
        abort(404)
    contact = _contact(public_id)
    report = honouring.contact_report(get_session(), contact, actor(), fmt)
    if fmt == "json":
        return _json(report, f"honouring-{contact.public_id}.json")
    return render_template("admin/proofs/honouring.html", report=report, org=_org())


@requires("proofs.read")
def contact_consent_proof(public_id: str, fmt: str) -> ResponseReturnValue:
    """Every R2 field of one person's consent events, with the wording as shown (audited)."""
    if fmt not in FORMATS:
        abort(404)
    contact = _contact(public_id)
    proof = honouring.consent_proof(get_session(), contact, actor(), fmt)
    if fmt == "json":
        return _json(proof, f"consent-proof-{contact.public_id}.json")
    return render_template("admin/proofs/consent.html", proof=proof, org=_org())


def _bounds(form: PeriodForm) -> tuple[datetime, datetime]:
    """The form's days as [first midnight, midnight after the last) of the organisation's zone, naive UTC."""
    zone = _org().zone

    def midnight(day: date) -> datetime:
        return datetime.combine(day, time(), zone).astimezone(UTC).replace(tzinfo=None)

    return midnight(form.since.data), midnight(form.until.data + timedelta(days=1))


@requires("proofs.read")
def organisation_honouring() -> ResponseReturnValue:
    """The organisation's proof over a period (default: the last 30 days), as a page or JSON (audited)."""
    args = request.args.to_dict()
    if "since" not in args and "until" not in args:
        # Today as the organisation's days are cut (_bounds): a UTC date would leave the last hour's events
        # out of the default period just after midnight in Paris.
        today = organisation.today(get_session())
        args = {"since": (today - timedelta(days=30)).isoformat(), "until": today.isoformat()}
    form = PeriodForm(formdata=MultiDict(args))
    if not form.validate() or form.since.data > form.until.data:
        if form.since.data and form.until.data and form.since.data > form.until.data:
            form.until.errors = [*form.until.errors, str(_l("must not be before the start"))]
        return render_template("admin/proofs/period.html", form=form, report=None, org=_org()), 400
    since, until = _bounds(form)
    fmt = "json" if request.args.get("format") == "json" else "html"
    report = honouring.period_report(get_session(), since, until, actor(), fmt)
    if fmt == "json":
        return _json(report, "honouring.json")
    return render_template("admin/proofs/period.html", form=form, report=report, org=_org())
