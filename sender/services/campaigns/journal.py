"""What a send did, recorded in one place: its audit event and the job it leaves for later, in the caller's unit.

Every outcome of `launch.send` ends here: a launch once its audience is planned (`rollout`, with the queued
and skipped counts), a requalification cycle opened, a launch scheduled with the job that launches it then.
The job leaves once the unit commits (sender.work); the event is chained after it (records/audit.py). A
launch's batch jobs are not a record of the send but the steps of its planning: rollout commits each with
its chunk.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from sender import work
from sender.models import Campaign
from sender.services.records import audit
from sender.work import Job


def note(
    session: Session,
    actor: str,
    campaign: Campaign,
    event: str,
    details: dict[str, Any] | None = None,
    *,
    later: tuple[Job, datetime] | None = None,
) -> None:
    """Record the send's audit event (ids and counts only in `details`) and, `later`, the job to run then."""
    audit.record(session, actor, event, "campaign", campaign.id, details)
    if later is not None:
        job, at = later
        work.schedule_at(session, job, at)
