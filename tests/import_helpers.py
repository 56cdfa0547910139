"""Helpers shared by the import tests: CSV bytes, a batch run through the service, its report."""

from __future__ import annotations

import io
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.config import Settings
from sender.models import Contact, ImportBatch, ImportReportLine, Purpose
from sender.services.audience import imports
from tests.factories import PurposeFactory, WordingFactory

UNQUALIFIED = {"source": "old CRM export", "legal_basis": "unknown"}


def csv_bytes(*lines: str, sep: str = ",", encoding: str = "utf-8") -> bytes:
    """Lines joined with CRLF (as spreadsheets write them); `sep` replaces each '|' in the lines."""
    return ("\r\n".join(line.replace("|", sep) for line in lines) + "\r\n").encode(encoding)


def proof(purpose: Purpose, **changes: Any) -> dict[str, Any]:
    """Provenance proving consent for `purpose` (wording version 1)."""
    return {
        "source": "salon-2026-stand",
        "legal_basis": "consent",
        "purpose": purpose.slug,
        "wording_version": 1,
        "collected_on": "2026-03-14",
        **changes,
    }


def newsletter() -> Purpose:
    """A consent purpose with wording version 1."""
    purpose = cast(Purpose, PurposeFactory(slug="newsletter"))
    WordingFactory(purpose=purpose, version=1)
    return purpose


def create(
    session: Session,
    settings: Settings,
    content: bytes,
    data: dict[str, Any] | None = None,
    mapping: dict[str, str] | None = None,
    name: str = "contacts.csv",
) -> ImportBatch:
    """A stored batch, committed."""
    batch = imports.create(
        session, settings, io.BytesIO(content), name, data or UNQUALIFIED, "user:1", mapping
    )
    session.commit()
    return batch


def run(
    session: Session,
    settings: Settings,
    content: bytes,
    mode: str = "commit",
    data: dict[str, Any] | None = None,
    mapping: dict[str, str] | None = None,
) -> ImportBatch:
    """Create a batch from CSV bytes and run it (dry run or commit)."""
    batch = create(session, settings, content, data, mapping)
    return imports.run(session, settings, batch, mode)


def report(session: Session, batch: ImportBatch) -> list[tuple[int, str, str, str]]:
    """The report lines as (row, outcome, column, reason)."""
    lines = session.scalars(
        select(ImportReportLine)
        .where(ImportReportLine.batch_id == batch.id)
        .order_by(ImportReportLine.row_no, ImportReportLine.id)
    )
    return [(line.row_no, line.outcome, line.column, line.reason) for line in lines]


def contact(session: Session, email: str) -> Contact | None:
    """The contact with this normalised email."""
    return session.scalar(select(Contact).where(Contact.email == email))
