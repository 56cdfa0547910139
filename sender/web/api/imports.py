"""API resource: CSV imports with provenance (upload and dry run, commit, progress, row report)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from flask import Response, g, jsonify, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from sender import work
from sender.enums import Channel
from sender.models import ImportBatch, Purpose
from sender.models.contacts import CHANNELS
from sender.models.imports import IMPORT_STATUSES, ROW_OUTCOMES
from sender.services.audience import import_problems, import_report, imports
from sender.services.audience.import_mapping import FIELDS, PROOF_FIELDS
from sender.services.errors import ValidationFailed
from sender.tasks.queue import read_progress
from sender.web.api.inputs import parse_query
from sender.web.api.paging import decode_cursor, page_body
from sender.web.api.present import ts
from sender.web.api.schemas.imports import ReportQuery
from sender.web.api.schemas.paging import PageQuery
from sender.web.api.spec import TIMESTAMP, Component, nullable, obj, page_of
from sender.web.session import get_session, runtime

FORM_FIELDS = (
    "source",
    "legal_basis",
    "collected_on",
    "purpose",
    "wording_version",
    "mechanism",
    "channels",
    "partner",
    "partner_named_sender",
    "list",
)
# Room for the multipart envelope and the provenance fields around the file itself.
FORM_OVERHEAD = 64 * 1024


def present(batch: ImportBatch) -> dict[str, Any]:
    """A batch with its provenance, counts and progress; no personal data."""
    session = get_session()
    purpose = session.get(Purpose, batch.purpose_id) if batch.purpose_id else None
    progress: float | None = None
    if batch.status in imports.RUNNING:
        progress = read_progress(runtime().redis, batch.id) or 0.0
    elif batch.status in imports.FINISHED:
        progress = 1.0
    return {
        "id": batch.id,
        "status": batch.status,
        "file_name": batch.file_name,
        "file_sha256": batch.file_sha256,
        "file_size": batch.file_size,
        "encoding": batch.encoding,
        "delimiter": batch.delimiter,
        "mapping": list((batch.mapping or {}).get("columns", [])),
        "source": batch.source,
        "legal_basis": batch.legal_basis,
        "collected_on": batch.collected_on.isoformat() if batch.collected_on else None,
        "purpose": purpose.slug if purpose else None,
        "wording_version": batch.wording_version,
        "mechanism": batch.mechanism,
        "channels": list(batch.channels or []),
        "partner": batch.partner_name,
        "partner_named_sender": batch.partner_named_sender,
        "legacy": imports.proof_of(session, batch) is None,
        "counts": {
            "rows": batch.total_rows,
            "accepted": batch.accepted,
            "merged": batch.merged,
            "refused": batch.refused,
            "fields_dropped": batch.fields_dropped,
            "consents_recorded": batch.consents_recorded,
            "rows_own_proof": batch.rows_own_proof,
            "rows_batch_proof": batch.rows_batch_proof,
            "rows_legacy": batch.rows_legacy,
        },
        "progress": progress,
        "error": batch.error,
        "created_by": batch.created_by,
        "created_at": ts(batch.created_at),
        "analysed_at": ts(batch.analysed_at),
        "committed_at": ts(batch.committed_at),
        "report_csv": url_for("api.import_report_csv", batch_id=batch.id),
    }


def _mapping(raw: str | None) -> dict[str, str]:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ValidationFailed(
            {"mapping": 'must be a JSON object of column names to fields, e.g. {"Mail": "email"}'}
        )
    return value


def _answer(batch: ImportBatch, status: int) -> ResponseReturnValue:
    location = url_for("api.get_import", batch_id=batch.id)
    return jsonify(present(batch)), status, {"Location": location}


def create_import() -> ResponseReturnValue:
    """Upload a CSV file with its provenance and dry-run it (as a job when the file is large)."""
    settings = runtime().settings
    # Imports may be larger than other requests (MAX_CONTENT_LENGTH); they are streamed to the database.
    request.max_content_length = settings.import_max_bytes + FORM_OVERHEAD
    upload = request.files.get("file")
    errors = {name: "unknown field" for name in sorted(set(request.form) - {*FORM_FIELDS, "mapping"})}
    if upload is None:
        errors["file"] = "is required: send the CSV as multipart/form-data field `file`"
    if errors:
        raise ValidationFailed(errors)
    assert upload is not None
    data: dict[str, Any] = {name: request.form.get(name) for name in FORM_FIELDS}
    data["channels"] = ",".join(request.form.getlist("channels")) or None
    session = get_session()
    batch = imports.create(
        session,
        settings,
        upload.stream,
        upload.filename or "import.csv",
        data,
        g.actor,
        _mapping(request.form.get("mapping")),
    )
    # No commit here: starting the run commits the batch (imports.submit) before a job can look for it.
    queued = imports.submit(runtime(), session, batch, "analyse")
    return _answer(batch, 202 if queued else 201)


def list_imports() -> ResponseReturnValue:
    """Import batches, oldest first, a page at a time."""
    query = parse_query(PageQuery)
    after, limit = decode_cursor(query.cursor), query.limit
    stmt = select(ImportBatch).order_by(ImportBatch.id).limit(limit + 1)
    if after is not None:
        stmt = stmt.where(ImportBatch.id > after)
    rows = list(get_session().scalars(stmt))
    return jsonify(page_body(rows[:limit], len(rows) > limit, lambda b: b.id, present))


def get_import(batch_id: int) -> ResponseReturnValue:
    """One batch: status, progress (poll this while it runs), counts and provenance."""
    return jsonify(present(imports.get(get_session(), batch_id)))


def commit_import(batch_id: int) -> ResponseReturnValue:
    """Apply a dry-run batch: contacts, merges and consent events (as a job when the file is large)."""
    session = get_session()
    batch = imports.get(session, batch_id)
    queued = imports.submit(runtime(), session, batch, "commit")
    return _answer(batch, 202 if queued else 200)


def import_report_lines(batch_id: int) -> ResponseReturnValue:
    """The row report of the batch's latest run, in row order, a page at a time."""
    session = get_session()
    imports.get(session, batch_id)
    query = parse_query(ReportQuery)
    limit = query.limit
    lines = import_report.lines_page(
        session, batch_id, after=decode_cursor(query.cursor), limit=limit + 1, outcome=query.outcome
    )
    return jsonify(
        page_body(
            lines[:limit],
            len(lines) > limit,
            lambda line: line.id,
            lambda line: {
                "row": line.row_no,
                "outcome": line.outcome,
                "column": line.column,
                "code": line.code,
                "reason": str(import_problems.reason_of(line)),
            },
        )
    )


def _report_rows(factory: sessionmaker[Session], batch_id: int) -> Iterator[str]:
    # The download outlives the request and its session: it reads in a lock-free session of its own.
    with work.reading(factory) as session:
        yield from import_report.csv_chunks(session, batch_id)


def import_report_csv(batch_id: int) -> ResponseReturnValue:
    """The whole row report as a CSV download (cells that a spreadsheet would run as formulas are quoted)."""
    session = get_session()
    batch = imports.get(session, batch_id)
    filename = f"import-{batch.id}-report.csv"
    return Response(
        _report_rows(runtime().Session, batch.id),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


_STR = {"type": "string"}
COUNTS = (
    "rows",
    "accepted",
    "merged",
    "refused",
    "fields_dropped",
    "consents_recorded",
    "rows_own_proof",
    "rows_batch_proof",
    "rows_legacy",
)
_COUNT = {"type": "integer", "minimum": 0}
_BATCH: dict[str, Any] = {
    "id": {"type": "integer"},
    "status": {"type": "string", "enum": list(IMPORT_STATUSES)},
    "file_name": _STR,
    "file_sha256": _STR,
    "file_size": _COUNT,
    "encoding": nullable(_STR),
    "delimiter": nullable(_STR),
    "mapping": {
        "type": "array",
        "items": obj({"column": _STR, "field": nullable(_STR)}, ["column", "field"]),
    },
    "source": _STR,
    "legal_basis": _STR,
    "collected_on": nullable({"type": "string", "format": "date"}),
    "purpose": nullable(_STR),
    "wording_version": nullable({"type": "integer"}),
    "mechanism": nullable(_STR),
    "channels": {"type": "array", "items": {"type": "string", "enum": list(CHANNELS)}},
    "partner": nullable(_STR),
    "partner_named_sender": {"type": "boolean"},
    "legacy": {
        "type": "boolean",
        "description": "True when the batch proves no consent: its new contacts are legacy (unqualified).",
    },
    "counts": obj(
        {name: _COUNT for name in COUNTS},
        list(COUNTS),
    ),
    "progress": nullable({"type": "number", "minimum": 0, "maximum": 1}),
    "error": nullable(_STR),
    "created_by": _STR,
    "created_at": TIMESTAMP,
    "analysed_at": nullable(TIMESTAMP),
    "committed_at": nullable(TIMESTAMP),
    "report_csv": {"type": "string", "description": "Where to download the row report as CSV."},
}
UPLOAD_FORM: dict[str, Any] = obj(
    {
        "file": {
            "type": "string",
            "format": "binary",
            "description": "CSV: UTF-8 (with or without BOM), "
            "UTF-16, cp1252 or Latin-1; separated by , ; or tab; a header row first.",
        },
        "source": {"type": "string", "maxLength": 255, "description": "Collection point: where and how."},
        "legal_basis": {"type": "string", "enum": list(imports.IMPORT_LEGAL_BASES)},
        "collected_on": {"type": "string", "format": "date", "description": "Required to claim consent."},
        "purpose": {"type": "string", "description": "Purpose slug; required to claim consent."},
        "wording_version": {"type": "integer", "minimum": 1, "description": "Required to claim consent."},
        "mechanism": {"type": "string", "default": "checkbox", "description": "How the person consented."},
        "channels": {
            "type": "string",
            "default": Channel.EMAIL.value,
            "description": f"Comma-separated: {', '.join(CHANNELS)}.",
        },
        "partner": {"type": "string", "maxLength": 200},
        "partner_named_sender": {
            "type": "boolean",
            "description": "The partner's wording named us; required for partner-sourced consent.",
        },
        "list": {
            "type": "integer",
            "description": "A list every accepted or merged contact joins at commit.",
        },
        "mapping": {
            "type": "string",
            "description": f"JSON object column -> field ({', '.join((*FIELDS, *PROOF_FIELDS))}, "
            "attributes.<name>, ignore). In a file with consent_* columns, a row without its own consent "
            "date and source is imported as legacy.",
        },
    },
    ["file", "source", "legal_basis"],
)
IMPORT_BATCH = Component("ImportBatch", obj(_BATCH, list(_BATCH)))
IMPORT_BATCH_PAGE = Component("ImportBatchPage", page_of(IMPORT_BATCH))
REPORT_LINE = Component(
    "ImportReportLine",
    obj(
        {
            "row": {"type": "integer", "description": "Row number as a spreadsheet shows it (header = 1)."},
            "outcome": {"type": "string", "enum": list(ROW_OUTCOMES)},
            "column": {
                "type": "string",
                "description": "Header of the column concerned, or consent, or empty.",
            },
            "code": {
                "type": "string",
                "enum": ["", *import_problems.MESSAGES],
                "description": "Stable code of the problem (empty for a row accepted as it is); "
                "reason is its text in English.",
            },
            "reason": _STR,
        },
        ["row", "outcome", "column", "code", "reason"],
    ),
)
REPORT_PAGE = Component("ImportReportPage", page_of(REPORT_LINE))
