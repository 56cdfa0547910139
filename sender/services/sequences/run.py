"""The sequences' duty (`sender sequences run`, every minute under `sender cron` / `sender serve`).

The database says what is due, never the queue: entering a segment and reaching a date enrol people here,
then each due step is planned as deliveries of its step's campaign, the gate's reason recorded, and its
batches asked of the workers. A Redis outage only delays the batches: the rows wait, and the campaign sweep
asks for their batches again.

Each (enrolment, step) is planned at most once: its delivery row is unique on (step campaign, contact,
round = enrolment id), and the enrolment moves to its next step in a guarded UPDATE (`WHERE step = p`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence as Many
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, case, func, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from sender import work
from sender.channels.base import get_channel
from sender.db import utcnow
from sender.enums import (
    DeliveryStatus,
    EnrolmentStatus,
    ExitReason,
    SequenceStatus,
    SequenceTrigger,
    SkipReason,
)
from sender.models import Campaign, Contact, Delivery, Enrolment, Sequence
from sender.runtime import Runtime
from sender.services.accounts import organisation
from sender.services.audience import segments
from sender.services.consent.gate import gated_audience, rule_for
from sender.services.sequences.enrol import enrol
from sender.services.sequences.timing import due_at
from sender.work.jobs import SendBatch

log = logging.getLogger(__name__)

# A refusal of the gate ends the passage; these two keep their own exit reason.
EXIT_OF_SKIP = {SkipReason.WITHDRAWN: ExitReason.WITHDRAWN, SkipReason.ERASED: ExitReason.ERASED}


@dataclass
class RunReport:
    """What one run did."""

    entered: int = 0
    planned: int = 0
    skipped: int = 0
    completed: int = 0
    batches: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """The figures the command prints."""
        return {
            "entered": self.entered,
            "planned": self.planned,
            "skipped": self.skipped,
            "completed": self.completed,
            "batches": self.batches,
        }


def run(runtime: Runtime, now: datetime | None = None) -> RunReport:
    """Enrol by segment and date, then plan every due step; commits in named steps."""
    report = RunReport()
    with work.unit(runtime.Session, "sequences run") as session:
        moment = now or utcnow()
        report.entered += enrol_segments(session, moment)
        report.entered += enrol_dates(session, moment)
        work.commit(session, "sequences: entries")
        plan_due(session, runtime.settings.send_batch_size, moment, report)
    return report


def enrol_segments(session: Session, now: datetime) -> int:
    """Members of each segment-triggered sequence's segment who never entered it."""
    entered = 0
    for sequence in _active(session, SequenceTrigger.SEGMENT):
        if sequence.trigger_segment_id is None:
            continue
        members = segments.members(session, [sequence.trigger_segment_id])
        entered += enrol(session, sequence, members, key="segment", now=now, once=True)
    return entered


def enrol_dates(session: Session, now: datetime) -> int:
    """Contacts whose date attribute is today (the organisation's day): one passage per date."""
    entered = 0
    today = now.replace(tzinfo=UTC).astimezone(organisation.zone(session)).date().isoformat()
    for sequence in _active(session, SequenceTrigger.DATE):
        if not sequence.trigger_field:
            continue
        # JSON_EXTRACT on SQLite, ->> on PostgreSQL: the attribute as text, NULL when missing.
        value = func.trim(Contact.attributes[sequence.trigger_field].as_string())
        ids = select(Contact.id).where(value == today)
        entered += enrol(session, sequence, ids, key=today, now=now, once=True)
    return entered


def _active(session: Session, trigger: SequenceTrigger) -> list[Sequence]:
    return list(
        session.scalars(
            select(Sequence).where(Sequence.status == SequenceStatus.ACTIVE, Sequence.trigger == trigger)
        )
    )


def plan_due(session: Session, batch_size: int, now: datetime, report: RunReport) -> None:
    """Plan the due steps of every active sequence, a batch of enrolments per committed step."""
    zone = organisation.zone(session)
    sequences = session.scalars(select(Sequence).where(Sequence.status == SequenceStatus.ACTIVE)).all()
    for sequence in sequences:
        for step in sequence.steps:
            while True:
                due = list(
                    session.scalars(
                        select(Enrolment.id)
                        .where(
                            Enrolment.sequence_id == sequence.id,
                            Enrolment.status == EnrolmentStatus.ACTIVE,
                            Enrolment.step == step.position,
                            Enrolment.next_due_at <= now,
                        )
                        .order_by(Enrolment.id)
                        .limit(batch_size)
                    )
                )
                if not due:
                    break
                following = (
                    sequence.steps[step.position + 1] if step.position + 1 < len(sequence.steps) else None
                )
                next_due = due_at(now, following, zone) if following is not None else None
                _plan_step(session, step.campaign, step.position, due, now, next_due, report)
                try:
                    work.commit(session, "sequences: step planned")
                except work.QueueDown:
                    # The rows are saved: the campaign sweep asks for their batches once Redis is back.
                    log.warning(
                        "sequence %s: the queue is down; the sweep will enqueue its batches", sequence.id
                    )


def _plan_step(
    session: Session,
    campaign: Campaign,
    position: int,
    due: Many[int],
    now: datetime,
    next_due: datetime | None,
    report: RunReport,
) -> None:
    """Record one delivery per due enrolment (queued, or skipped with the gate's reason), then move them on."""
    gated, _ = gated_audience(
        campaign.purpose_id, get_channel(campaign.channel), now, rule_for(campaign.kind)
    )
    batch_no = due[0]
    planned = (
        gated.add_columns(Enrolment.id.label("enrolment_id"))
        .join(Enrolment, Enrolment.contact_id == Contact.id)
        .where(Enrolment.id.in_(due))
        .subquery()
    )
    eligible = planned.c.reason.is_(None)
    rows = select(
        literal(campaign.id),
        planned.c.id,
        planned.c.enrolment_id,
        literal(batch_no),
        case((eligible, literal(DeliveryStatus.QUEUED.value)), else_=literal(DeliveryStatus.SKIPPED.value)),
        planned.c.reason,
        literal(0),
        literal(now),
    ).where(planned.c.id.is_not(None))  # a WHERE settles SQLite's parsing of INSERT … SELECT … ON CONFLICT
    columns = ["campaign_id", "contact_id", "round", "batch_no", "status", "reason", "attempts", "created_at"]
    table = cast(Table, Delivery.__table__)
    upsert: Any = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(upsert(table).from_select(columns, rows).on_conflict_do_nothing())
    # What the gate said for each of them (also for rows an earlier, interrupted run wrote).
    outcomes = session.execute(
        select(Delivery.round, Delivery.status, Delivery.reason).where(
            Delivery.campaign_id == campaign.id, Delivery.round.in_(due)
        )
    ).all()
    refused = {row.round: row.reason for row in outcomes if row.status == DeliveryStatus.SKIPPED}
    for enrolment_id, skip in refused.items():
        session.execute(
            update(Enrolment)
            .where(
                Enrolment.id == enrolment_id,
                Enrolment.step == position,
                Enrolment.status == EnrolmentStatus.ACTIVE,
            )
            .values(
                status=EnrolmentStatus.EXITED,
                exit_reason=EXIT_OF_SKIP.get(skip, ExitReason.REFUSED),
                ended_at=now,
                next_due_at=None,
            )
        )
        report.by_reason[skip or ""] = report.by_reason.get(skip or "", 0) + 1
    moving = [e for e in due if e not in refused]
    if moving:
        values: dict[str, Any] = {"step": position + 1, "next_due_at": next_due}
        if next_due is None:
            values.update(status=EnrolmentStatus.COMPLETED, ended_at=now)
            report.completed += len(moving)
        session.execute(
            update(Enrolment)
            .where(
                Enrolment.id.in_(moving),
                Enrolment.step == position,
                Enrolment.status == EnrolmentStatus.ACTIVE,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    queued = sum(1 for row in outcomes if row.status == DeliveryStatus.QUEUED)
    report.planned += queued
    report.skipped += len(refused)
    if queued:
        work.enqueue(session, SendBatch(campaign.id, batch_no, campaign.channel))
        report.batches += 1
