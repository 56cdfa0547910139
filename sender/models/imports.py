"""CSV import batches: their declared provenance, the stored file and the row-by-row report."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from sender.db import Base, utcnow
from sender.enums import ImportStatus

IMPORT_STATUSES = tuple(ImportStatus)
ROW_OUTCOMES = ("accepted", "merged", "refused")


class ImportBatch(Base):
    """One uploaded file and the provenance declared for all of its rows (R58)."""

    __tablename__ = "import_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default=ImportStatus.PENDING, index=True)
    source: Mapped[str] = mapped_column(String(255))
    collected_on: Mapped[date | None] = mapped_column(Date)
    legal_basis: Mapped[str] = mapped_column(String(32))
    purpose_id: Mapped[int | None] = mapped_column(ForeignKey("purposes.id"))
    wording_version: Mapped[int | None] = mapped_column(Integer)
    mechanism: Mapped[str | None] = mapped_column(String(32))
    channels: Mapped[list[str]] = mapped_column(JSON, default=list)
    partner_name: Mapped[str | None] = mapped_column(String(200))
    partner_named_sender: Mapped[bool] = mapped_column(Boolean, default=False)
    # The list the committed contacts join (membership is not consent: the gate still decides).
    list_id: Mapped[int | None] = mapped_column(ForeignKey("lists.id", ondelete="SET NULL"))
    file_name: Mapped[str] = mapped_column(String(255))
    file_sha256: Mapped[str] = mapped_column(String(64), index=True)
    file_size: Mapped[int] = mapped_column(Integer, default=0)
    # Set while committing or committed: the unique constraint makes a file's second commit fail.
    commit_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    encoding: Mapped[str | None] = mapped_column(String(16))
    delimiter: Mapped[str | None] = mapped_column(String(4))
    mapping_override: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    mapping: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    merged: Mapped[int] = mapped_column(Integer, default=0)
    refused: Mapped[int] = mapped_column(Integer, default=0)
    fields_dropped: Mapped[int] = mapped_column(Integer, default=0)
    consents_recorded: Mapped[int] = mapped_column(Integer, default=0)
    # Where each accepted or merged row's consent comes from: its own proof columns, the batch's claim, or none.
    rows_own_proof: Mapped[int] = mapped_column(Integer, default=0)
    rows_batch_proof: Mapped[int] = mapped_column(Integer, default=0)
    rows_legacy: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    analysed_at: Mapped[datetime | None] = mapped_column(DateTime)
    committed_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The stored file is deleted at commit, or after IMPORT_FILE_DAYS without one (R43, R48).
    file_deleted_at: Mapped[datetime | None] = mapped_column(DateTime)


class ImportFileChunk(Base):
    """A slice of an uploaded file, kept in the database so any worker host can read it back in order."""

    __tablename__ = "import_file_chunks"

    batch_id: Mapped[int] = mapped_column(
        ForeignKey("import_batches.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class ImportReportLine(Base):
    """What the latest run did with one row, or with one field of it (row numbers as in a spreadsheet)."""

    __tablename__ = "import_report_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batches.id", ondelete="CASCADE"), index=True)
    row_no: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16))
    column: Mapped[str] = mapped_column(String(100), default="")
    # The problem's stable code and values (services/audience/import_problems.py); "" for no problem.
    code: Mapped[str] = mapped_column(String(40), default="")
    params: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # The text in English, as the CSV report and the lines written before codes say it.
    reason: Mapped[str] = mapped_column(String(300), default="")
