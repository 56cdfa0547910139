"""CSV imports with provenance (R58, R59): create a batch from a file, dry-run it, commit it, report on it.

One code path for the API, the admin page, the CLI and the job. A run (dry run or commit) is one
transaction: a commit that fails leaves no contact or consent behind, only the batch marked failed with
its reason. The file's SHA-256 makes a second commit of the same file a Conflict.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta
from pathlib import PurePath
from typing import IO, Any

from redis.exceptions import RedisError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sender.config import Settings
from sender.db import utcnow
from sender.models import ConsentWording, ImportBatch, ImportReportLine, Purpose
from sender.models.consent import LEGAL_BASES
from sender.models.contacts import CHANNELS
from sender.runtime import Runtime
from sender.services.audience import csvfile, import_mapping
from sender.services.audience.import_rows import ParsedRow, RowReader
from sender.services.audience.import_run import ImportPass, Proof
from sender.services.consent.ledger import GRANT_MECHANISMS, NON_AFFIRMATIVE
from sender.services.errors import Conflict, NotFound, ValidationFailed
from sender.services.records import audit
from sender.tasks.import_queue import enqueue_import, import_job_alive

# "unknown": the file's origin cannot be vouched for; its rows become legacy contacts.
IMPORT_LEGAL_BASES = (*LEGAL_BASES, "unknown")
MODES = ("analyse", "commit")
CHUNK_ROWS = 1000
ABANDONED_AFTER = timedelta(minutes=5)
Progress = Callable[[float], None]


def _text(data: Mapping[str, Any], name: str, limit: int, errors: dict[str, str]) -> str | None:
    value = data.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value.strip()) > limit:
        errors[name] = f"must be a string of at most {limit} characters"
        return None
    return value.strip() or None


def _collected_on(raw: Any, errors: dict[str, str]) -> date | None:
    if raw is None or raw == "":
        return None
    try:
        value = raw if isinstance(raw, date) else date.fromisoformat(str(raw))
    except ValueError:
        errors["collected_on"] = "must be a date written YYYY-MM-DD"
        return None
    if value > utcnow().date():
        errors["collected_on"] = "is in the future"
    return value


def _channels(raw: Any, errors: dict[str, str]) -> list[str]:
    if raw is None or raw == "" or raw == []:
        return ["email"]
    values = raw.split(",") if isinstance(raw, str) else raw
    if not isinstance(values, list) or not values or any(v not in CHANNELS for v in values):
        errors["channels"] = f"must name channels among {', '.join(CHANNELS)}"
        return []
    return list(dict.fromkeys(values))


def _flag(raw: Any, name: str, errors: dict[str, str]) -> bool:
    if isinstance(raw, bool) or raw is None:
        return bool(raw)
    if str(raw).lower() in ("true", "1", "yes", "on"):
        return True
    if str(raw).lower() in ("false", "0", "no", "off", ""):
        return False
    errors[name] = "must be true or false"
    return False


def _provenance(session: Session, data: Mapping[str, Any]) -> dict[str, Any]:
    """Validate what a batch declares about its rows; consent is claimed only with its full proof."""
    errors: dict[str, str] = {}
    source = _text(data, "source", 255, errors)
    if source is None and "source" not in errors:
        errors["source"] = "is required: where and how the addresses were collected"
    basis = data.get("legal_basis")
    if basis not in IMPORT_LEGAL_BASES:
        errors["legal_basis"] = f"is required, one of {', '.join(IMPORT_LEGAL_BASES)}"
    partner = _text(data, "partner", 200, errors)
    named = _flag(data.get("partner_named_sender"), "partner_named_sender", errors)
    collected_on = _collected_on(data.get("collected_on"), errors)
    channels = _channels(data.get("channels"), errors)
    purpose = None
    slug = _text(data, "purpose", 64, errors)
    if slug is not None:
        purpose = session.scalar(select(Purpose).where(Purpose.slug == slug))
        if purpose is None:
            errors["purpose"] = f"no purpose {slug!r}"
    version: int | None = None
    raw_version = data.get("wording_version")
    if raw_version not in (None, ""):
        if str(raw_version).isdigit() and int(str(raw_version)) >= 1:
            version = int(str(raw_version))
        else:
            errors["wording_version"] = "must be a whole number from 1"
    mechanism = _text(data, "mechanism", 32, errors) or ("checkbox" if basis == "consent" else None)
    if basis == "consent":
        _check_consent_proof(session, data, purpose, version, collected_on, mechanism, partner, named, errors)
    if errors:
        raise ValidationFailed(errors)
    return {
        "source": source,
        "legal_basis": basis,
        "partner_name": partner,
        "partner_named_sender": named,
        "collected_on": collected_on,
        "channels": channels,
        "purpose_id": purpose.id if purpose else None,
        "wording_version": version,
        "mechanism": mechanism,
    }


def _check_consent_proof(
    session: Session,
    data: Mapping[str, Any],
    purpose: Purpose | None,
    version: int | None,
    collected_on: date | None,
    mechanism: str | None,
    partner: str | None,
    named: bool,
    errors: dict[str, str],
) -> None:
    """Consent is proven only by purpose, wording version, collection date and an affirmative mechanism."""
    missing = "is required to claim consent (legal_basis consent); without it, use legal_basis unknown"
    for name, value in (("purpose", data.get("purpose")), ("wording_version", version)):
        if value in (None, "") and name not in errors:
            errors[name] = missing
    if collected_on is None and "collected_on" not in errors:
        errors["collected_on"] = missing
    if mechanism in NON_AFFIRMATIVE or mechanism not in GRANT_MECHANISMS:
        errors["mechanism"] = f"must be an affirmative act, one of {', '.join(sorted(GRANT_MECHANISMS))}"
    wording = select(ConsentWording.id).where(
        ConsentWording.purpose_id == (purpose.id if purpose else None), ConsentWording.version == version
    )
    if purpose is not None and version is not None and session.scalar(wording) is None:
        errors["wording_version"] = f"purpose {purpose.slug!r} has no wording version {version}"
    if partner and not named:
        # R60, CNIL Canal+: "partner" consent counts only if the wording named this sender.
        errors["partner_named_sender"] = (
            "partner-sourced consent counts only if the partner's wording named us"
        )


def create(
    session: Session,
    settings: Settings,
    stream: IO[bytes],
    file_name: str,
    data: Mapping[str, Any],
    actor: str,
    mapping: Mapping[str, str] | None = None,
) -> ImportBatch:
    """Store a file as a new pending batch with its declared provenance; the caller commits."""
    fields = _provenance(session, data)
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
            ImportBatch.file_sha256 == stored.sha256, ImportBatch.status == "committed"
        )
    )
    if done is not None:
        raise Conflict(f"this file was already imported (batch {done}); nothing was stored")
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
        raise NotFound("no such import batch")
    return batch


def begin(session: Session, batch: ImportBatch, mode: str) -> None:
    """Mark a run as started and commit, so that a second request for it is refused (Conflict)."""
    if mode not in MODES:
        raise ValidationFailed({"mode": f"must be one of {', '.join(MODES)}"})
    if batch.status in ("analysing", "committing"):
        raise Conflict(f"the batch is {batch.status}; wait for it to finish")
    if batch.status == "committed":
        raise Conflict("the batch is already committed")
    if mode == "analyse":
        batch.status = "analysing"
        session.commit()
        return
    batch.status, batch.commit_key = "committing", batch.file_sha256
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict("this file is already being imported or was imported by another batch") from None


def execute(
    session: Session,
    settings: Settings,
    batch: ImportBatch,
    progress: Progress | None = None,
    *,
    reraise: bool = False,
) -> ImportBatch:
    """Run the started pass of a batch in one transaction and commit; a bad file ends as `failed` with why.

    With `reraise`, a bad file's ValidationFailed is raised again once the failure is recorded.
    """
    mode = "commit" if batch.status == "committing" else "analyse"
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
        batch.status, batch.committed_at = "committed", now
    else:
        batch.status, batch.analysed_at = "analysed", now
    batch.error = None
    audit.record(session, batch.created_by, f"import.{mode}", "import_batch", batch.id, _counts(batch))
    session.commit()
    return batch


def run(
    session: Session, settings: Settings, batch: ImportBatch, mode: str, progress: Progress | None = None
) -> ImportBatch:
    """begin + execute, in this process (CLI, small files)."""
    begin(session, batch, mode)
    return execute(session, settings, batch, progress)


def submit(runtime: Runtime, session: Session, batch: ImportBatch, mode: str) -> bool:
    """Start a run: here for a small file, else as a job queued after the start is committed; True if queued."""
    if batch.status in ("analysing", "committing") and _abandoned(runtime, batch):
        _fail(
            session,
            batch,
            "the previous run stopped without finishing (its worker was lost); nothing was written",
        )
    begin(session, batch, mode)
    if batch.file_size <= runtime.settings.import_inline_bytes:
        execute(session, runtime.settings, batch, reraise=True)
        return False
    try:
        enqueue_import(runtime, batch.id, mode)
    except RedisError:
        _fail(session, batch, "the job queue (Redis) is unavailable; nothing was written, try again")
        raise
    return True


def _abandoned(runtime: Runtime, batch: ImportBatch) -> bool:
    """A run whose job is gone from the queue (worker killed, timed out) long after it started."""
    # A run is one transaction, so a lost one wrote nothing: it may simply start again.
    started = batch.updated_at or batch.created_at
    return utcnow() - started > ABANDONED_AFTER and not import_job_alive(runtime, batch.id)


def _fail(session: Session, batch: ImportBatch, message: str) -> None:
    batch.status, batch.error, batch.commit_key = "failed", message[:2000], None
    session.commit()


def _counts(batch: ImportBatch) -> dict[str, int]:
    return {
        name: getattr(batch, name)
        for name in ("total_rows", "accepted", "merged", "refused", "fields_dropped", "consents_recorded")
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
            raise ValidationFailed({"file": "has no header row"}) from None
        except csv.Error as exc:
            raise ValidationFailed({"file": f"row 1: {exc}"}) from None
        targets = import_mapping.resolve(header, batch.mapping_override or {})
        batch.mapping = {"columns": [{"column": c, "field": t} for c, t in zip(header, targets, strict=True)]}
        reader = RowReader(header, targets, settings.default_phone_region, settings.hash_key)
        columns = {t: c for c, t in zip(header, targets, strict=True) if t}
        engine = ImportPass(
            session, batch.id, columns, write=write, proof=proof_of(session, batch), actor=batch.created_by
        )
        parsed: list[ParsedRow] = []
        malformed: list[tuple[int, str]] = []
        row_no = 1
        try:
            for row_no, cells in enumerate(rows, start=2):
                if not any(cell.strip() for cell in cells):
                    continue
                engine.counts.total_rows += 1
                if len(cells) > len(header):
                    malformed.append(
                        (row_no, f"{len(cells)} cells, but the header has {len(header)} columns")
                    )
                else:
                    parsed.append(reader.parse(row_no, cells))
                if len(parsed) + len(malformed) >= CHUNK_ROWS:
                    engine.process(parsed, malformed)
                    parsed, malformed = [], []
                    if progress is not None:
                        progress(min(raw.consumed / max(batch.file_size, 1), 0.99))
        except csv.Error as exc:
            raise ValidationFailed({"file": f"row {row_no + 1} (line {rows.line_num}): {exc}"}) from None
        engine.process(parsed, malformed)
    if engine.counts.total_rows == 0:
        raise ValidationFailed({"file": "has a header but no rows"})
    for name, value in vars(engine.counts).items():
        setattr(batch, name, value)
    if progress is not None:
        progress(1.0)
