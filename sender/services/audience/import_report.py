"""The row report of an import batch: pages for screens and the API, a CSV download safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from sender.i18n import N_
from sender.models import ImportReportLine
from sender.models.imports import ROW_OUTCOMES
from sender.services.errors import ValidationFailed
from sender.work import reading

CSV_HEADER = ("row", "outcome", "column", "reason")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """A cell a spreadsheet will not run as a formula (OWASP CSV injection): risky starts get a quote."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def lines_page(
    session: Session, batch_id: int, *, after: int | None, limit: int, outcome: str | None = None
) -> list[ImportReportLine]:
    """Up to `limit` report lines after line id `after`; a run writes its lines in row order, so ids follow rows."""
    if outcome is not None and outcome not in ROW_OUTCOMES:
        raise ValidationFailed({"outcome": N_("must be one of %(choices)s", choices=", ".join(ROW_OUTCOMES))})
    stmt = (
        select(ImportReportLine)
        .where(ImportReportLine.batch_id == batch_id)
        .order_by(ImportReportLine.id)
        .limit(limit)
    )
    if outcome is not None:
        stmt = stmt.where(ImportReportLine.outcome == outcome)
    if after is not None:
        stmt = stmt.where(ImportReportLine.id > after)
    return list(session.scalars(stmt))


def csv_chunks(session: Session, batch_id: int, page: int = 2000) -> Iterator[str]:
    """The whole report as CSV text, a page of lines at a time (never all lines in memory)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    after: int | None = None
    while True:
        lines = lines_page(session, batch_id, after=after, limit=page)
        for line in lines:
            writer.writerow([line.row_no, line.outcome, safe_cell(line.column), safe_cell(line.reason)])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if len(lines) < page:
            return
        after = lines[-1].id


def csv_download(session_factory: sessionmaker[Session], batch_id: int) -> Iterator[str]:
    """csv_chunks in a read-only session of its own, closed when the download ends or is dropped.

    A streamed response outlives its request's session, so it must not borrow it; and a plain session
    would hold SQLite's write lock for as long as the client reads (work.reading never takes it).
    """
    with reading(session_factory) as session:
        yield from csv_chunks(session, batch_id)
