"""The sequence state machine: the one writer of `sequence.status`, and of its steps' campaigns' status.

    draft ─activate─▶ active ─pause─▶ paused ─activate─▶ active

Each step is an internal campaign (kind "sequence"): it is `sending` while its sequence is active, so the
send path claims its deliveries, and `paused` while the sequence is, so nothing of it leaves.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.orm import Session

from sender.db import rowcount, utcnow
from sender.enums import SequenceStatus
from sender.i18n import N_
from sender.models import Sequence
from sender.services.campaigns import states as campaign_states
from sender.services.errors import Conflict, ValidationFailed
from sender.services.records import audit

DRAFT, ACTIVE, PAUSED = SequenceStatus.DRAFT, SequenceStatus.ACTIVE, SequenceStatus.PAUSED


@dataclass(frozen=True)
class Transition:
    """A named move from any of `sources` to `target`."""

    name: str
    sources: frozenset[SequenceStatus]
    target: SequenceStatus


ACTIVATE = Transition("activate", frozenset({DRAFT, PAUSED}), ACTIVE)
PAUSE = Transition("pause", frozenset({ACTIVE}), PAUSED)
TRANSITIONS = (ACTIVATE, PAUSE)


def move(session: Session, sequence: Sequence, transition: Transition) -> None:
    """Make the move (one guarded UPDATE) and carry the steps' campaigns along; Conflict if refused."""
    if transition is ACTIVATE and not sequence.steps:
        raise ValidationFailed({"steps": N_("a sequence needs at least one step")})
    was = sequence.status
    values: dict[str, object] = {"status": transition.target}
    if transition is ACTIVATE and sequence.activated_at is None:
        values["activated_at"] = utcnow()
    moved = rowcount(
        session.execute(
            update(Sequence)
            .where(Sequence.id == sequence.id, Sequence.status.in_(transition.sources))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    )
    session.refresh(sequence)
    if moved != 1:
        raise Conflict(
            N_("sequence is %(status)s; cannot %(move)s it", status=sequence.status, move=transition.name)
        )
    now = utcnow()
    for step in sequence.steps:
        if transition is PAUSE:
            campaign_states.advance(session, step.campaign_id, campaign_states.PAUSE)
        elif was == DRAFT:
            campaign_states.advance(session, step.campaign_id, campaign_states.OPEN, launched_at=now)
        else:
            campaign_states.advance(session, step.campaign_id, campaign_states.RESUME, resumed_at=now)


def change(session: Session, sequence: Sequence, transition: Transition, actor: str) -> None:
    """Make the move and record it in the audit trail; the caller commits."""
    move(session, sequence, transition)
    audit.record(session, actor, f"sequence.{transition.name}", "sequence", sequence.id, {})
