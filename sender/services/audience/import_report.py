"""The row report of an import batch: pages for screens and the API, a CSV download safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from sender.models import ImportReportLine
from sender.models.imports import ROW_OUTCOMES
from sender.services.errors import ValidationFailed

CSV_HEADER = ("row", "outcome", "column", "reason")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """A cell a spreadsheet will not run as a formula (OWASP CSV injection): risky starts get a quote."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def lines_page(
    session: Session, batch_id: int, *, after: tuple[int, int] | None, limit: int, outcome: str | None = None
) -> list[ImportReportLine]:
    """Up to `limit` report lines in row order after the (row_no, id) position `after`."""
    if outcome is not None and outcome not in ROW_OUTCOMES:
        raise ValidationFailed({"outcome": f"must be one of {', '.join(ROW_OUTCOMES)}"})
    stmt = (
        select(ImportReportLine)
        .where(ImportReportLine.batch_id == batch_id)
        .order_by(ImportReportLine.row_no, ImportReportLine.id)
        .limit(limit)
    )
    if outcome is not None:
        stmt = stmt.where(ImportReportLine.outcome == outcome)
    if after is not None:
        row_no, line_id = after
        stmt = stmt.where(
            or_(
                ImportReportLine.row_no > row_no,
                and_(ImportReportLine.row_no == row_no, ImportReportLine.id > line_id),
            )
        )
    return list(session.scalars(stmt))


def csv_chunks(session: Session, batch_id: int, page: int = 2000) -> Iterator[str]:
    """The whole report as CSV text, a page of lines at a time (never all lines in memory)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    after: tuple[int, int] | None = None
    while True:
        lines = lines_page(session, batch_id, after=after, limit=page)
        for line in lines:
            writer.writerow([line.row_no, line.outcome, safe_cell(line.column), safe_cell(line.reason)])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if len(lines) < page:
            return
        after = (lines[-1].row_no, lines[-1].id)
