"""A sequence's figures per step: entered, sent, skipped by reason, exited; and a step's preview."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sender.enums import Channel, DeliveryStatus, EnrolmentStatus
from sender.models import Enrolment, Sequence
from sender.runtime import Runtime
from sender.services.campaigns import lifecycle
from sender.services.messages import preview as previews


@dataclass
class StepCounts:
    """One step's funnel figures."""

    position: int
    entered: int = 0
    sent: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    exited: int = 0
    by_status: dict[str, int] = field(default_factory=dict)


@dataclass
class Funnel:
    """The whole sequence: how many entered, are in it, completed, exited; and each step."""

    entered: int = 0
    active: int = 0
    completed: int = 0
    exited: int = 0
    steps: list[StepCounts] = field(default_factory=list)


def funnel(session: Session, sequence: Sequence) -> Funnel:
    """The sequence's figures: a step's deliveries (compacted ones included) and the exits before it."""
    reports = lifecycle.reports_for(session, [step.campaign_id for step in sequence.steps])
    exits = dict(
        session.execute(
            select(Enrolment.step, func.count())
            .where(Enrolment.sequence_id == sequence.id, Enrolment.status == EnrolmentStatus.EXITED)
            .group_by(Enrolment.step)
        ).all()
    )
    by_status = dict(
        session.execute(
            select(Enrolment.status, func.count())
            .where(Enrolment.sequence_id == sequence.id)
            .group_by(Enrolment.status)
        ).all()
    )
    result = Funnel(
        entered=sum(by_status.values()),
        active=by_status.get(EnrolmentStatus.ACTIVE, 0),
        completed=by_status.get(EnrolmentStatus.COMPLETED, 0),
        exited=by_status.get(EnrolmentStatus.EXITED, 0),
    )
    for step in sequence.steps:
        report = reports[step.campaign_id]
        result.steps.append(
            StepCounts(
                position=step.position,
                entered=sum(report.by_status.values()),
                sent=report.by_status.get(DeliveryStatus.SENT, 0),
                skipped=report.skipped,
                exited=exits.get(step.position, 0),
                by_status=report.by_status,
            )
        )
    return result


@dataclass(frozen=True)
class StepPreview:
    """A step's message as the sample contact would get it: the email's parts, or the SMS text."""

    channel: str
    subject: str
    text: str
    html: str


def preview(runtime: Runtime, session: Session, sequence: Sequence, position: int) -> StepPreview:
    """The step's message rendered by the send path's renderer for the sample contact; ValidationFailed."""
    campaign = sequence.steps[position].campaign
    if campaign.channel != Channel.EMAIL:
        return StepPreview(campaign.channel, "", campaign.body_text, "")
    rendered = previews.render(runtime, session, campaign, previews.sample_contact())
    return StepPreview(campaign.channel, rendered.subject, rendered.text, rendered.html)
