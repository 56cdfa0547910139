"""What a send did, recorded in one place: its audit event and the job it leaves for later, committed as the
send's last named step.

Every outcome of `launch.send` ends here, in one call: a launch once its audience is planned (`rollout`,
with the queued and skipped counts), a requalification cycle opened, a launch scheduled with the job that
launches it then. The sweep's resumed planning ends here too. The job leaves once the step commits
(sender.work); the event is chained after it (records/audit.py). A launch's batch jobs are not a record of
the send but the steps of its planning: rollout commits each with its chunk.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from sender import work
from sender.models import Campaign
from sender.services.errors import QueueUnavailable
from sender.services.records import audit
from sender.work import Job


@dataclass(frozen=True)
class Entry:
    """One outcome of a send: its audit event (ids and counts only in `details`), the job to run `later`,
    the named step that commits them, and what the caller is told when the queue could not take its jobs."""

    event: str
    step: str
    queue_down: str
    details: dict[str, Any] | None = None
    later: tuple[Job, datetime] | None = None
    # An earlier step of the send (a rollout's chunk) already found the queue down: its rows wait for the sweep.
    unsent: bool = False


def note(session: Session, actor: str, campaign: Campaign, entry: Entry) -> None:
    """Record the send's outcome and commit it; QueueUnavailable (the database keeps all) if jobs were refused."""
    audit.record(session, actor, entry.event, "campaign", campaign.id, entry.details)
    if entry.later is not None:
        work.schedule_at(session, *entry.later)
    try:
        work.commit(session, entry.step)
    except work.QueueDown as exc:
        raise QueueUnavailable(entry.queue_down) from exc
    if entry.unsent:
        raise QueueUnavailable(entry.queue_down)
