"""How long an uploaded file stays (R43, R48): deleted at commit, after IMPORT_FILE_DAYS unused, and a person's
rows removed from any file still kept when that person is erased.

A file is kept only while it may still be committed: afterwards it only holds personal data nobody needs.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from sender.addresses import AddressError, normalize_email, normalize_phone
from sender.db import utcnow
from sender.enums import ImportStatus
from sender.models import ImportBatch, ImportFileChunk
from sender.services.audience import csvfile


def delete_file(session: Session, batch: ImportBatch, at: datetime | None = None) -> None:
    """Delete the batch's stored file and say when; the caller commits."""
    session.execute(delete(ImportFileChunk).where(ImportFileChunk.batch_id == batch.id))
    batch.file_deleted_at = at or utcnow()


def purge_stale(session: Session, days: int, at: datetime | None = None) -> int:
    """Delete the files of batches left uncommitted for `days` (pending, analysed, failed or lost); the caller commits."""
    now = at or utcnow()
    stale = session.scalars(
        select(ImportBatch).where(
            ImportBatch.file_deleted_at.is_(None),
            ImportBatch.updated_at < now - timedelta(days=days),
        )
    )
    count = 0
    for batch in stale:
        delete_file(session, batch, now)
        count += 1
    return count


def forget_person(session: Session, email: str | None, phone: str | None, region: str) -> int:
    """Rewrite every kept file without the rows naming this email or phone; returns the rows removed.

    Any cell counts, mapped or not: the mapping of a pending file may still change.
    """
    if email is None and phone is None:
        return 0
    batches = session.scalars(
        select(ImportBatch)
        .where(ImportBatch.file_deleted_at.is_(None), ImportBatch.status != ImportStatus.COMMITTED)
        .order_by(ImportBatch.id)
    )
    removed = 0
    for batch in batches:
        removed += _rewrite(session, batch, _Needle(email, phone, region))
    return removed


class _Needle:
    """Tells whether a CSV row names a person, by normalised email or E.164 phone in any cell."""

    def __init__(self, email: str | None, phone: str | None, region: str) -> None:
        self.email = email
        self.phone = phone
        self.region = region
        # The last digits of the number: a cheap filter before parsing a cell as a phone number.
        self.tail = phone[-8:] if phone else None

    def in_row(self, cells: list[str]) -> bool:
        """True if a cell of the row is the person's email or phone number."""
        return any(self._is_person(cell.strip()) for cell in cells)

    def _is_person(self, cell: str) -> bool:
        try:
            if self.email and "@" in cell:
                return normalize_email(cell) == self.email
            if self.tail and self.tail in "".join(ch for ch in cell if ch.isdigit()):
                return normalize_phone(cell, self.region) == self.phone
        except AddressError:
            return False
        return False


def _rewrite(session: Session, batch: ImportBatch, needle: _Needle) -> int:
    """Remove the person's rows from one file: a counting pass, then, if needed, a copy without them."""
    encoding = batch.encoding or "utf-8"
    with csvfile.open_text(session, batch.id, encoding) as (text, _):
        delimiter = csvfile.sniff_delimiter(csvfile.read_sample(text))
    try:
        removed = sum(1 for _ in _rows(session, batch, delimiter, keep=False, needle=needle))
    except csv.Error:
        # A file the csv module cannot read fails its run anyway: it goes whole rather than be searched.
        delete_file(session, batch)
        return 1
    if not removed:
        return 0
    # The copy is written after the old chunks (read one at a time meanwhile), which then make way for it.
    offset = session.scalar(select(func.max(ImportFileChunk.seq)).where(ImportFileChunk.batch_id == batch.id))
    offset = (offset or 0) + 1
    size = 0
    kept = _rows(session, batch, delimiter, keep=True, needle=needle, stop=offset)
    for seq, data in enumerate(_encoded(kept, delimiter, encoding), start=offset):
        session.execute(insert(ImportFileChunk).values(batch_id=batch.id, seq=seq, data=data))
        size += len(data)
    session.execute(
        delete(ImportFileChunk).where(ImportFileChunk.batch_id == batch.id, ImportFileChunk.seq < offset)
    )
    session.execute(
        update(ImportFileChunk)
        .where(ImportFileChunk.batch_id == batch.id)
        .values(seq=ImportFileChunk.seq - offset)
    )
    # The SHA-256 stays the uploaded file's: it is what refuses a second commit of that file.
    batch.file_size = size
    return removed


def _rows(
    session: Session,
    batch: ImportBatch,
    delimiter: str,
    *,
    keep: bool,
    needle: _Needle,
    stop: int | None = None,
) -> Iterator[list[str]]:
    """The file's rows (chunks before `stop`) that do not name the person (`keep`), or those that do."""
    with csvfile.open_text(session, batch.id, batch.encoding or "utf-8", stop=stop) as (text, _):
        for index, cells in enumerate(csv.reader(text, delimiter=delimiter, strict=True)):
            if (index == 0 or not needle.in_row(cells)) == keep:
                yield cells


def _encoded(rows: Iterable[list[str]], delimiter: str, encoding: str) -> Iterator[bytes]:
    """The rows written as CSV in the file's own encoding (its BOM once), in chunks of about csvfile.CHUNK_BYTES."""
    encoder = codecs.getincrementalencoder(encoding)()
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    pending = b""
    for row in rows:
        writer.writerow(row)
        pending += encoder.encode(buffer.getvalue())
        buffer.seek(0)
        buffer.truncate()
        if len(pending) >= csvfile.CHUNK_BYTES:
            yield pending
            pending = b""
    pending += encoder.encode("", final=True)
    if pending:
        yield pending
