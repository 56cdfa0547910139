"""The audit trail: append-only, hash-chained so that any edit or deletion shows."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from sender.db import utcnow
from sender.models import AuditEvent

GENESIS = "0" * 64


def _digest(prev_hash: str, row: AuditEvent) -> str:
    body = json.dumps(
        [
            prev_hash,
            row.occurred_at.isoformat(),
            row.actor,
            row.action,
            row.subject_type,
            row.subject_id,
            row.details,
        ],
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode()).hexdigest()


def record(
    session: Session,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str | int,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append an audit event (ids only, never addresses) chained to the previous one."""
    if session.get_bind().dialect.name == "postgresql":
        # Serialise writers of the chain so two transactions never link to the same predecessor.
        session.execute(text("SELECT pg_advisory_xact_lock(7261)"))
    prev = session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)) or GENESIS
    row = AuditEvent(
        occurred_at=utcnow().replace(microsecond=0),
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_id=str(subject_id),
        details=details or {},
        prev_hash=prev,
    )
    row.hash = _digest(prev, row)
    session.add(row)
    session.flush()
    return row


def verify_chain(session: Session) -> int | None:
    """Return the id of the first event whose hash or link is wrong, or None if the chain holds."""
    prev = GENESIS
    for row in session.scalars(select(AuditEvent).order_by(AuditEvent.id)):
        if row.prev_hash != prev or _digest(prev, row) != row.hash:
            return row.id
        prev = row.hash
    return None
