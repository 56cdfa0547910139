"""Staff pages of CSV imports: upload with provenance, dry-run report, commit, live progress, CSV report."""

from __future__ import annotations

from flask import (
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Optional

from sender.channels.base import channels
from sender.enums import Channel, ImportStatus
from sender.models import ContactList, ImportBatch, ImportReportLine, Purpose
from sender.services.audience import import_mapping, import_problems, import_report, imports
from sender.services.consent.ledger import GRANT_MECHANISMS
from sender.services.errors import Conflict, ValidationFailed
from sender.services.records import audit
from sender.tasks.queue import read_progress
from sender.web import labels
from sender.web.admin.auth import actor, requires
from sender.web.admin.downloads import csv_attachment
from sender.web.admin.forms import Form, choices, run_action
from sender.web.session import get_session, runtime

BATCHES_SHOWN = 50
LINES_SHOWN = 200
# Room for the multipart envelope and the provenance fields around the file itself.
FORM_OVERHEAD = 64 * 1024


class CursorForm(Form):
    """The report's page cursor, read from the query string (a GET: no CSRF token)."""

    class Meta:
        csrf = False

    after = IntegerField(validators=[Optional()])


class ImportForm(Form):
    """A CSV file and the provenance of all of its rows (R58)."""

    file = FileField(_l("CSV file"), validators=[FileRequired()])
    source = StringField(
        _l("Collection point (where and how the addresses were collected)"), validators=[DataRequired()]
    )
    legal_basis = SelectField(_l("Legal basis"), validators=[DataRequired()])
    collected_on = DateField(_l("Collected on"), validators=[Optional()])
    purpose = SelectField(_l("Purpose consented to"), validators=[Optional()])
    wording_version = IntegerField(_l("Consent wording version shown"), validators=[Optional()])
    mechanism = SelectField(_l("How they consented"), validators=[Optional()])
    channels = SelectMultipleField(_l("Channels consented to"), validators=[Optional()])
    partner = StringField(_l("Partner the list comes from (if any)"), validators=[Optional()])
    partner_named_sender = BooleanField(_l("The partner's consent wording named us"))
    list = SelectField(_l("Add the imported contacts to the list"), validators=[Optional()])
    mapping = TextAreaField(
        _l("Column mapping overrides, one per line: column=field"), validators=[Optional()]
    )


def _form() -> ImportForm:
    form = ImportForm()
    form.legal_basis.choices = choices(labels.choices_of("LegalBasis", imports.IMPORT_LEGAL_BASES))
    slugs = get_session().scalars(select(Purpose.slug).order_by(Purpose.slug)).all()
    form.purpose.choices = choices([("", _("(none)")), *((slug, slug) for slug in slugs)])
    form.mechanism.choices = choices(labels.choices_of("Mechanism", sorted(GRANT_MECHANISMS)))
    form.channels.choices = choices((ch.name, _(ch.label)) for ch in channels())
    named = get_session().execute(select(ContactList.id, ContactList.name).order_by(ContactList.name))
    form.list.choices = choices([("", _("(none)")), *((str(list_id), name) for list_id, name in named)])
    if request.method == "GET":
        form.mechanism.data = "checkbox"
        form.channels.data = [Channel.EMAIL]
    return form


def _batch(batch_id: int) -> ImportBatch:
    return imports.get(get_session(), batch_id)


def _index(form: ImportForm, status: int = 200) -> ResponseReturnValue:
    batches = get_session().scalars(select(ImportBatch).order_by(ImportBatch.id.desc()).limit(BATCHES_SHOWN))
    return (
        render_template(
            "admin/imports/index.html",
            form=form,
            batches=list(batches),
            fields=(*import_mapping.FIELDS, *import_mapping.PROOF_FIELDS),
        ),
        status,
    )


@requires("view")
def index() -> ResponseReturnValue:
    """Recent batches, and the upload form."""
    return _index(_form())


@requires("imports")
def import_create() -> ResponseReturnValue:
    """Store the file with its provenance and dry-run it; the report opens next."""
    request.max_content_length = runtime().settings.import_max_bytes + FORM_OVERHEAD
    form = _form()
    if not form.validate():
        return _index(form, status=422)
    data = {
        "source": form.source.data,
        "legal_basis": form.legal_basis.data,
        "collected_on": form.collected_on.data,
        "purpose": form.purpose.data or None,
        "wording_version": form.wording_version.data,
        "mechanism": form.mechanism.data if form.legal_basis.data == "consent" else None,
        "channels": list(form.channels.data or []),
        "partner": form.partner.data,
        "partner_named_sender": form.partner_named_sender.data,
        "list": form.list.data or None,
    }

    def create_and_analyse() -> ImportBatch:
        mapping = import_mapping.parse_overrides(
            [line for line in (form.mapping.data or "").splitlines() if line.strip()]
        )
        upload = form.file.data
        batch = imports.create(
            get_session(), runtime().settings, upload.stream, upload.filename or "", data, actor(), mapping
        )
        # The dry run commits the stored batch as its first step; its own refusals are shown on the report.
        _submit(batch, "analyse")
        return batch

    return run_action(
        create_and_analyse,
        success=None,
        redirect_to=lambda batch: url_for("admin.import_detail", batch_id=batch.id),
        refused=lambda status: _index(form, status=status),
        form=form,
    )


def _submit(batch: ImportBatch, mode: str) -> None:
    # No discard here: a run that fails records why on its batch, which the report page shows.
    try:
        imports.submit(runtime(), get_session(), batch, mode)
    except ValidationFailed:
        flash(_("The file could not be read: see the error below."), "error")
    except Conflict as exc:
        flash(exc.message, "error")


@requires("view")
def import_detail(batch_id: int) -> ResponseReturnValue:
    """Provenance, counts and the row report; a running batch shows a live progress bar."""
    session = get_session()
    batch = _batch(batch_id)
    cursor = CursorForm(request.args)
    valid = cursor.validate()
    for error in cursor.after.errors:
        flash(f"after: {error}", "error")
    after = cursor.after.data if valid else None
    lines = import_report.lines_page(session, batch.id, after=after, limit=LINES_SHOWN + 1)
    purpose = session.get(Purpose, batch.purpose_id) if batch.purpose_id else None
    return render_template(
        "admin/imports/detail.html",
        batch=batch,
        purpose=purpose,
        contact_list=session.get(ContactList, batch.list_id) if batch.list_id else None,
        legacy=imports.proof_of(session, batch) is None,
        lines=lines[:LINES_SHOWN],
        next_after=lines[LINES_SHOWN - 1].id if len(lines) > LINES_SHOWN else None,
        percent=_percent(batch),
        file_days=runtime().settings.import_file_days,
        reason_of=_reason,
    ), 200 if valid else 400


def _reason(line: ImportReportLine) -> str:
    """A report line's text in the page's language, the codes it names by their labels."""
    reason = import_problems.reason_of(line)
    return labels.say(labels.labelled(reason, import_problems.CODED_VALUES))


@requires("imports")
def import_commit(batch_id: int) -> ResponseReturnValue:
    """Write the batch: contacts, merges and consent events."""
    batch = _batch(batch_id)
    _submit(batch, "commit")
    if batch.status == ImportStatus.COMMITTED:
        flash(_("Import committed."), "success")
    return redirect(url_for("admin.import_detail", batch_id=batch.id))


def _percent(batch: ImportBatch) -> int:
    if batch.status in imports.FINISHED:
        return 100
    if batch.status in imports.RUNNING:
        return int(100 * (read_progress(runtime().redis, batch.id) or 0.0))
    return 0


@requires("view")
def import_progress(batch_id: int) -> ResponseReturnValue:
    """Status and progress of a batch as JSON (polled by static/admin/imports.js)."""
    batch = _batch(batch_id)
    return jsonify({"status": batch.status, "percent": _percent(batch)})


@requires("view")
def import_report_csv(batch_id: int) -> ResponseReturnValue:
    """The whole row report as CSV (formulas neutralised)."""
    found = _batch(batch_id).id
    audit.record(get_session(), actor(), "export.import_report", "import", found)
    return csv_attachment(
        f"import-{found}-report.csv", lambda session: import_report.csv_chunks(session, found)
    )
