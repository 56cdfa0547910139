"""CSV imports with provenance (R58, R59): create a batch from a file, dry-run it, commit it, report on it.

One code path for the API, the admin page, the CLI and the job. An import is an orchestration of named
steps of the caller's unit of work, each committed: the start of a run (with the job that runs a large file,
sent once the start is committed), the run itself (dry run or commit: one step, so a commit that fails
leaves no contact or consent behind), or the batch marked failed with its reason. The file's SHA-256 makes a
second commit of the same file a Conflict.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping
from datetime import datetime, time, timedelta
from pathlib import PurePath
from typing import IO, Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sender import work
from sender.config import Settings
from sender.db import utcnow
from sender.enums import ImportStatus
from sender.i18n import N_
from sender.models import ImportBatch, ImportReportLine, Purpose
from sender.runtime import Runtime
from sender.services.audience import csvfile, import_files, import_mapping, import_provenance
from sender.services.audience.import_problems import Problem, problem
from sender.services.audience.import_rows import ParsedRow, RowReader
from sender.services.audience.import_run import ImportPass, Proof
from sender.services.errors import Conflict, NotFound, QueueUnavailable, ValidationFailed
from sender.services.records import audit
from sender.work.jobs import RunImport

IMPORT_LEGAL_BASES = import_provenance.IMPORT_LEGAL_BASES
MODES = ("analyse", "commit")
CHUNK_ROWS = 1000
ABANDONED_AFTER = timedelta(minutes=5)
# A run is under way (a dry run or the commit): no second one starts, and its progress is shown.
RUNNING = (ImportStatus.ANALYSING, ImportStatus.COMMITTING)
# A run has ended with its report.
FINISHED = (ImportStatus.ANALYSED, ImportStatus.COMMITTED)
Progress = Callable[[float], None]


def create(
    session: Session,
    settings: Settings,
    stream: IO[bytes],
    file_name: str,
    data: Mapping[str, Any],
    actor: str,
    mapping: Mapping[str, str] | None = None,
) -> ImportBatch:
    """Store a file as a new pending batch with its declared provenance; the caller's unit (or begin) commits."""
    fields = import_provenance.validate(session, data)
    name = PurePath(file_name or "import.csv").name[:255] or "import.csv"
    batch = ImportBatch(
        **fields,
        file_name=name,
        file_sha256="",
        mapping_override=dict(mapping or {}),
        created_by=actor,
    )
    session.add(batch)
    session.flush()
    stored = csvfile.store(session, batch.id, stream, settings.import_max_bytes)
    done = session.scalar(
        select(ImportBatch.id).where(
            ImportBatch.file_sha256 == stored.sha256, ImportBatch.status == ImportStatus.COMMITTED
        )
    )
    if done is not None:
        raise Conflict(N_("this file was already imported (batch %(done)s); nothing was stored", done=done))
    batch.file_sha256, batch.file_size, batch.encoding = stored.sha256, stored.size, stored.encoding
    session.flush()
    audit.record(
        session, actor, "import.create", "import_batch", batch.id, {"legal_basis": batch.legal_basis}
    )
    return batch


def get(session: Session, batch_id: int) -> ImportBatch:
    """The batch with this id, or NotFound."""
    batch = session.get(ImportBatch, batch_id)
    if batch is None:
        raise NotFound(N_("no such import batch"))
    return batch


def begin(session: Session, batch: ImportBatch, mode: str, *, queued: bool = False) -> None:
    """Mark a run as started and commit that step, so that a second request for it is refused (Conflict).

    With `queued`, the job that runs the batch is recorded with the start: it is sent once the start is
    committed (QueueDown if the queue is unreachable then), never for a start that is refused.
    """
    if mode not in MODES:
        raise ValidationFailed({"mode": N_("must be one of %(choices)s", choices=", ".join(MODES))})
    if batch.status in RUNNING:
        raise Conflict(N_("the batch is %(status)s; wait for it to finish", status=batch.status))
    if batch.status == ImportStatus.COMMITTED:
        raise Conflict(N_("the batch is already committed"))
    if batch.file_deleted_at is not None:
        raise Conflict(N_("the file was deleted (IMPORT_FILE_DAYS without a commit); upload it again"))
    if mode == "analyse":
        batch.status = ImportStatus.ANALYSING
    else:
        batch.status, batch.commit_key = ImportStatus.COMMITTING, batch.file_sha256
    if queued:
        work.enqueue(session, RunImport(batch_id=batch.id, mode=mode))
    try:
        work.commit(session, f"import {mode}: start")
    except IntegrityError:
        session.rollback()
        raise Conflict(N_("this file is already being imported or was imported by another batch")) from None


def execute(
    session: Session,
    settings: Settings,
    batch: ImportBatch,
    progress: Progress | None = None,
    *,
    reraise: bool = False,
) -> ImportBatch:
    """Run the started pass of a batch as one committed step; a bad file ends as `failed` with why.

    With `reraise`, a bad file's ValidationFailed is raised again once the failure is recorded.
    """
    mode = "commit" if batch.status == ImportStatus.COMMITTING else "analyse"
    try:
        _pass(session, settings, batch, write=mode == "commit", progress=progress)
    except (ValidationFailed, IntegrityError) as exc:
        session.rollback()
        message = (
            exc.message
            if isinstance(exc, ValidationFailed)
            else "contacts with the same addresses were written meanwhile; run the commit again"
        )
        _fail(session, batch, message)
        if reraise and isinstance(exc, ValidationFailed):
            raise
        return batch
    except Exception:
        session.rollback()
        _fail(session, batch, "the import stopped on an internal error; nothing was written")
        raise
    now = utcnow()
    if mode == "commit":
        batch.status, batch.committed_at = ImportStatus.COMMITTED, now
        # Committed, the file is no longer needed: it leaves in the same step, never to be kept forever.
        import_files.delete_file(session, batch, now)
    else:
        batch.status, batch.analysed_at = ImportStatus.ANALYSED, now
    batch.error = None
    audit.record(session, batch.created_by, f"import.{mode}", "import_batch", batch.id, _counts(batch))
    work.commit(session, f"import {mode}: run")
    return batch


def run(
    session: Session, settings: Settings, batch: ImportBatch, mode: str, progress: Progress | None = None
) -> ImportBatch:
    """begin + execute, in this process (CLI, small files)."""
    begin(session, batch, mode)
    return execute(session, settings, batch, progress)


def submit(runtime: Runtime, session: Session, batch: ImportBatch, mode: str) -> bool:
    """Start a run: here for a small file, else as a job sent once the start is committed; True if queued."""
    if batch.status in RUNNING and _abandoned(session, batch):
        _fail(
            session,
            batch,
            "the previous run stopped without finishing (its worker was lost); nothing was written",
        )
    queued = batch.file_size > runtime.settings.import_inline_bytes
    try:
        begin(session, batch, mode, queued=queued)
    except work.QueueDown as exc:
        _fail(session, batch, "the job queue (Redis) is unavailable; nothing was written, try again")
        raise QueueUnavailable(
            "the job queue (Redis) is unavailable: the import did not start; try again"
        ) from exc
    if not queued:
        execute(session, runtime.settings, batch, reraise=True)
    return queued


def _abandoned(session: Session, batch: ImportBatch) -> bool:
    """A run whose job is gone from the queue (worker killed, timed out) long after it started."""
    # A run is one step, so a lost one wrote nothing: it may simply start again.
    started = batch.updated_at or batch.created_at
    if utcnow() - started <= ABANDONED_AFTER:
        return False
    states = (work.state(session, RunImport(batch_id=batch.id, mode=mode)) for mode in MODES)
    return not any(state is not None and state.alive for state in states)


def _fail(session: Session, batch: ImportBatch, message: str) -> None:
    batch.status, batch.error, batch.commit_key = ImportStatus.FAILED, message[:2000], None
    work.commit(session, "import: failed")


def _counts(batch: ImportBatch) -> dict[str, int]:
    return {
        name: getattr(batch, name)
        for name in (
            "total_rows",
            "accepted",
            "merged",
            "refused",
            "fields_dropped",
            "consents_recorded",
            "rows_own_proof",
            "rows_batch_proof",
            "rows_legacy",
        )
    }


def proof_of(session: Session, batch: ImportBatch) -> Proof | None:
    """The consent the batch proves, or None: its new contacts are then legacy (no ordinary campaign reaches them)."""
    if batch.legal_basis != "consent" or batch.purpose_id is None or batch.collected_on is None:
        return None
    if batch.wording_version is None or batch.mechanism is None:
        return None
    purpose = session.get(Purpose, batch.purpose_id)
    assert purpose is not None
    point = batch.source if not batch.partner_name else f"{batch.source} (partner: {batch.partner_name})"
    return Proof(
        purpose=purpose,
        wording_version=batch.wording_version,
        mechanism=batch.mechanism,
        channels=tuple(batch.channels),
        collected_at=datetime.combine(batch.collected_on, time(0)),
        collection_point=point[:255],
    )


def _header(cells: list[str]) -> list[str]:
    return [cell.strip() or f"column {i + 1}" for i, cell in enumerate(cells)]


def _pass(
    session: Session, settings: Settings, batch: ImportBatch, *, write: bool, progress: Progress | None
) -> None:
    session.execute(delete(ImportReportLine).where(ImportReportLine.batch_id == batch.id))
    encoding = batch.encoding or "utf-8"
    with csvfile.open_text(session, batch.id, encoding) as (text, _):
        delimiter = csvfile.sniff_delimiter(csvfile.read_sample(text))
    batch.delimiter = delimiter
    with csvfile.open_text(session, batch.id, encoding) as (text, raw):
        rows = csv.reader(text, delimiter=delimiter, strict=True)
        try:
            header = _header(next(rows))
        except StopIteration:
            raise ValidationFailed({"file": N_("has no header row")}) from None
        except csv.Error as exc:
            raise ValidationFailed({"file": N_("row 1: %(exc)s", exc=exc)}) from None
        targets = import_mapping.resolve(header, batch.mapping_override or {})
        batch.mapping = {"columns": [{"column": c, "field": t} for c, t in zip(header, targets, strict=True)]}
        reader = RowReader(header, targets, settings.default_phone_region, settings.hash_key)
        columns = {t: c for c, t in zip(header, targets, strict=True) if t}
        engine = ImportPass(
            session,
            batch.id,
            columns,
            write=write,
            proof=proof_of(session, batch),
            actor=batch.created_by,
            list_id=batch.list_id,
        )
        parsed: list[ParsedRow] = []
        malformed: list[tuple[int, Problem]] = []
        row_no = 1
        try:
            for row_no, cells in enumerate(rows, start=2):
                if not any(cell.strip() for cell in cells):
                    continue
                engine.counts.total_rows += 1
                if len(cells) > len(header):
                    malformed.append(
                        (row_no, problem("too_many_cells", cells=len(cells), columns=len(header)))
                    )
                else:
                    parsed.append(reader.parse(row_no, cells))
                if len(parsed) + len(malformed) >= CHUNK_ROWS:
                    engine.process(parsed, malformed)
                    parsed, malformed = [], []
                    if progress is not None:
                        progress(min(raw.consumed / max(batch.file_size, 1), 0.99))
        except csv.Error as exc:
            raise ValidationFailed(
                {
                    "file": N_(
                        "row %(row_no)s (line %(line_num)s): %(exc)s",
                        row_no=row_no + 1,
                        line_num=rows.line_num,
                        exc=exc,
                    )
                }
            ) from None
        engine.process(parsed, malformed)
    if engine.counts.total_rows == 0:
        raise ValidationFailed({"file": N_("has a header but no rows")})
    for name, value in vars(engine.counts).items():
        setattr(batch, name, value)
    if progress is not None:
        progress(1.0)
