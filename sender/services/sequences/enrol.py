"""Entering and leaving sequences: the triggers' one way in, and the exits.

At most one active passage per (sequence, person): a partial unique index, and every insert is
`ON CONFLICT DO NOTHING`, so triggers firing together (a consent and a list, two workers) enrol once.
A person who left (withdrawal, or a refusal by the gate) enters again from the first step when a trigger
fires anew (a new consent).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Select, Table, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from sender.db import utcnow
from sender.enums import (
    ConsentAction,
    ContactStatus,
    EnrolmentStatus,
    ExitReason,
    SequenceStatus,
    SequenceTrigger,
)
from sender.models import Contact, Enrolment, Sequence, SequenceStep
from sender.services.accounts import organisation
from sender.services.sequences.timing import due_at


def _first_due(session: Session, sequence: Sequence, now: datetime) -> datetime:
    first: SequenceStep = sequence.steps[0]
    return due_at(now, first, organisation.zone(session))


def enrol(
    session: Session,
    sequence: Sequence,
    contact_ids: Select[Any] | list[int],
    *,
    key: str = "",
    now: datetime | None = None,
    once: bool = False,
) -> int:
    """Enrol contacts (ids, or a SELECT of ids) who have no active passage; how many entered.

    With `once`, a contact who ever had a passage with this `key` is left out (a segment entered once, a date
    that comes once). The caller commits.
    """
    if sequence.status != SequenceStatus.ACTIVE or not sequence.steps:
        return 0
    moment = now or utcnow()
    rows = select(
        literal(sequence.id),
        Contact.id,
        literal(EnrolmentStatus.ACTIVE.value),
        literal(0),
        literal(_first_due(session, sequence, moment)),
        literal(sequence.trigger),
        literal(key),
        literal(moment),
    ).where(Contact.id.in_(contact_ids), Contact.status != ContactStatus.ERASED)
    if once:
        earlier = select(Enrolment.id).where(
            Enrolment.sequence_id == sequence.id,
            Enrolment.contact_id == Contact.id,
            Enrolment.trigger_key == key,
        )
        rows = rows.where(~earlier.exists())
    columns = [
        "sequence_id",
        "contact_id",
        "status",
        "step",
        "next_due_at",
        "trigger",
        "trigger_key",
        "entered_at",
    ]
    table = cast(Table, Enrolment.__table__)
    upsert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = upsert(table).from_select(columns, rows).on_conflict_do_nothing()
    session.flush()
    result = session.connection().execute(stmt, execution_options={"preserve_rowcount": True})
    return int(result.rowcount)


def _active(session: Session, trigger: SequenceTrigger, *where: Any) -> list[Sequence]:
    return list(
        session.scalars(
            select(Sequence).where(
                Sequence.status == SequenceStatus.ACTIVE, Sequence.trigger == trigger, *where
            )
        )
    )


def on_consents(
    session: Session, action: str, by_purpose: Mapping[int, Collection[int]], *, now: datetime
) -> None:
    """Consent events were recorded (the ledger's one hook): grants enrol, withdrawals exit; the caller commits.

    `by_purpose` maps each purpose to the contacts whose consent to it changed, so a bulk writer (an import,
    a complaint) costs one statement per sequence, not one per person.
    """
    if action == ConsentAction.GRANT:
        for sequence in _active(session, SequenceTrigger.CONSENT, Sequence.purpose_id.in_(by_purpose)):
            enrol(session, sequence, list(by_purpose[sequence.purpose_id]), now=now)
    elif action == ConsentAction.WITHDRAW:
        for purpose_id, contact_ids in by_purpose.items():
            leave_many(session, list(contact_ids), ExitReason.WITHDRAWN, purpose_id=purpose_id)


def triggered_by_list(session: Session, list_id: int) -> list[Sequence]:
    """The active sequences that joining this list enrols in."""
    return _active(session, SequenceTrigger.LIST, Sequence.trigger_list_id == list_id)


def leave(session: Session, contact_id: int, reason: ExitReason, *, purpose_id: int | None = None) -> int:
    """End a person's active passages (those under `purpose_id`, or all); how many. The caller commits."""
    return leave_many(session, [contact_id], reason, purpose_id=purpose_id)


def leave_many(
    session: Session, contact_ids: list[int], reason: ExitReason, *, purpose_id: int | None = None
) -> int:
    """leave() for many people at once, in one statement; how many passages ended."""
    if not contact_ids:
        return 0
    under = Enrolment.sequence_id.in_(select(Sequence.id).where(Sequence.purpose_id == purpose_id))
    stmt = update(Enrolment).where(
        Enrolment.contact_id.in_(contact_ids),
        Enrolment.status == EnrolmentStatus.ACTIVE,
        *((under,) if purpose_id is not None else ()),
    )
    result = session.execute(
        stmt.values(
            status=EnrolmentStatus.EXITED, exit_reason=reason, ended_at=utcnow(), next_due_at=None
        ).execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
