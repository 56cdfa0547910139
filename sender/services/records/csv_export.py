"""CSV exports that a spreadsheet cannot turn into formulas (CWE-1236), streamed row by row, moments in the
organisation's time zone."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sender.services.records import times

# A cell starting with one of these is read as a formula by Excel, LibreOffice and Sheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def safe_cell(value: Any, zone: ZoneInfo) -> str:
    """The value as text (a moment in `zone`, with its offset), with an apostrophe where a spreadsheet would
    evaluate it."""
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)  # a number of ours, negative ones included, is no formula
    text = times.iso(value, zone) if isinstance(value, datetime) else str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def stream(header: list[str], rows: Iterable[Iterable[Any]], zone: ZoneInfo) -> Iterator[str]:
    """CSV text in chunks: the header, then every row with each cell neutralised, moments in `zone`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for count, row in enumerate(rows, 1):
        writer.writerow([safe_cell(cell, zone) for cell in row])
        if count % 2000 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
