"""Building a sequence: its steps, each an internal campaign (kind "sequence") holding the step's message.

A step's message is composed exactly as a campaign's (schema.CampaignDraft: body formats, the channel's
rules, the sandbox), so the send path renders and gates it like any campaign.
"""

from __future__ import annotations

from collections.abc import Sequence as Many

from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.enums import CampaignKind, CampaignStatus, SequenceStatus
from sender.i18n import N_
from sender.models import Campaign, ContactList, Purpose, Segment, Sequence, SequenceStep
from sender.services.errors import Conflict, NotFound, ValidationFailed
from sender.services.records import audit
from sender.services.sequences.schema import SequenceInput, StepInput


def get(session: Session, sequence_id: int) -> Sequence:
    """The sequence, or NotFound."""
    sequence = session.get(Sequence, sequence_id)
    if sequence is None:
        raise NotFound(N_("no such sequence"))
    return sequence


def all_sequences(session: Session) -> list[Sequence]:
    """Every sequence, newest first."""
    return list(session.scalars(select(Sequence).order_by(Sequence.id.desc())))


def step_at(sequence: Sequence, position: int) -> SequenceStep:
    """The step at `position`, or NotFound."""
    if not 0 <= position < len(sequence.steps):
        raise NotFound(N_("no such step"))
    return sequence.steps[position]


def step_name(sequence_name: str, position: int) -> str:
    """The internal campaign's name: the sequence's, and the step's number."""
    return f"{sequence_name[:180]} · {position + 1}"


def _checked(session: Session, data: SequenceInput) -> Purpose:
    errors: dict[str, str] = data.trigger_problems()
    purpose = session.scalar(select(Purpose).where(Purpose.slug == data.purpose))
    if purpose is None:
        errors["purpose"] = N_("choose a purpose")
    if data.trigger_list_id is not None and session.get(ContactList, data.trigger_list_id) is None:
        errors["trigger_list_id"] = N_("no such list")
    if data.trigger_segment_id is not None and session.get(Segment, data.trigger_segment_id) is None:
        errors["trigger_segment_id"] = N_("no such segment")
    for position, step in enumerate(data.steps):
        try:
            step.draft(step_name(data.name, position), data.purpose)
        except ValidationFailed as exc:
            errors.update({f"steps.{position}.{name}": problem for name, problem in exc.errors.items()})
    if errors:
        raise ValidationFailed(errors)
    assert purpose is not None
    return purpose


def _step_campaign(
    campaign: Campaign | None, step: StepInput, name: str, purpose: Purpose, actor: str
) -> Campaign:
    draft = step.draft(name, purpose.slug)
    target = campaign or Campaign(
        status=CampaignStatus.DRAFT, kind=CampaignKind.SEQUENCE, created_by=actor, lists=[]
    )
    target.name, target.channel, target.purpose_id = draft.name, draft.channel, purpose.id
    for column, value in draft.content().items():
        setattr(target, column, value)
    return target


def save(session: Session, sequence: Sequence | None, data: SequenceInput, actor: str) -> Sequence:
    """Create a sequence, or rewrite a draft one (its steps replaced in order); the caller commits."""
    if sequence is not None and sequence.status != SequenceStatus.DRAFT:
        raise Conflict(N_("sequence is %(status)s; only a draft can be edited", status=sequence.status))
    purpose = _checked(session, data)
    target = sequence or Sequence(status=SequenceStatus.DRAFT, created_by=actor)
    target.name, target.purpose_id, target.trigger = data.name.strip(), purpose.id, data.trigger
    target.trigger_list_id = data.trigger_list_id if data.trigger == "list" else None
    target.trigger_segment_id = data.trigger_segment_id if data.trigger == "segment" else None
    target.trigger_field = (data.trigger_field or "").strip() or None if data.trigger == "date" else None
    session.add(target)
    session.flush()
    _replace_steps(session, target, data.steps, purpose, actor)
    audit.record(
        session, actor, "sequence.save" if sequence else "sequence.create", "sequence", target.id,
        {"steps": len(data.steps)},
    )  # fmt: skip
    return target


def _replace_steps(
    session: Session, sequence: Sequence, steps: Many[StepInput], purpose: Purpose, actor: str
) -> None:
    """Rewrite the draft's steps in place (their campaigns reused), adding or removing at the end."""
    existing = list(sequence.steps)
    for position, step in enumerate(steps):
        row = existing[position] if position < len(existing) else None
        campaign = _step_campaign(
            row.campaign if row else None, step, step_name(sequence.name, position), purpose, actor
        )
        session.add(campaign)
        session.flush()
        if row is None:
            row = SequenceStep(sequence_id=sequence.id, position=position, campaign_id=campaign.id)
            sequence.steps.append(row)
        row.delay_value, row.delay_unit, row.at_time = step.delay_value, step.delay_unit, step.at_time or None
    for row in existing[len(steps) :]:
        campaign = row.campaign
        sequence.steps.remove(row)
        session.flush()
        session.delete(campaign)
    session.flush()
    session.refresh(sequence)
