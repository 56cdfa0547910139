"""Rolling a launched campaign out: plan its audience a chunk per step, each chunk's rows and batch jobs
committed together, then mark it planned (and sent, if nothing is left to send), for the caller to record
in the send's journal and commit as the launch's last step.

A small first chunk puts the first messages on the wire within a second while the rest of a large audience
is planned. With the queue down, the rows are the memory: planning goes on, and the sweep enqueues the
batches once Redis is back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.orm import Session

from sender import metrics, work
from sender.channels.base import Channel
from sender.config import Settings
from sender.db import utcnow
from sender.enums import CampaignStatus, DeliveryStatus
from sender.models import Campaign
from sender.services.campaigns import ab_tests, delivery, lifecycle, planning
from sender.work.jobs import SendBatch

log = logging.getLogger(__name__)

# Contacts planned per INSERT: a small first step, so sending starts within a second on any audience.
FIRST_CHUNK = 1_000
NEXT_CHUNK = 25_000
QUEUE_DOWN = "the queue (Redis) is unreachable"


@dataclass(frozen=True)
class Rollout:
    """What a rollout planned: sends queued, skipped counts by reason, and whether the queue refused jobs."""

    queued: int
    skipped: dict[str, int]
    queue_down: bool


def plan_and_enqueue(
    session: Session,
    settings: Settings,
    campaign: Campaign,
    channel: Channel,
    *,
    after: int,
    first_batch: int,
) -> Rollout:
    """Plan from contact `after` on, a chunk per step: its rows and its batch jobs, committed, then sent.

    A small first chunk puts the first messages on the wire while the rest of a large audience is planned.
    Then the campaign is marked planned, and closed if nothing is left to send: that last step is left to
    the caller to record and commit (journal.note). With the queue down the rows are the memory: planning
    goes on, and the result says so.
    """
    list_ids = [lst.id for lst in campaign.lists]
    limit = FIRST_CHUNK
    down: work.QueueDown | None = None
    while True:
        session.refresh(campaign)
        if campaign.status == CampaignStatus.CANCELLED:
            break
        chunk = planning.plan_chunk(
            session,
            campaign,
            list_ids,
            utcnow(),
            settings.send_batch_size,
            channel=channel,
            after=after,
            limit=limit,
            first_batch=first_batch,
        )
        # An A/B test by clicks is decided when its wait is over (the sweep decides it if this job is lost).
        decision = ab_tests.arm(campaign)
        for batch_no in chunk.batches if down is None else ():  # a queue known down is not waited for again
            work.enqueue(session, SendBatch(campaign.id, batch_no, campaign.channel))
        if decision is not None and down is None:
            work.schedule_at(session, *decision)
        try:
            work.commit(session, "plan chunk")
        except work.QueueDown as exc:
            log.warning("campaign %s: %s; the sweep will enqueue its batches", campaign.id, QUEUE_DOWN)
            down = exc
        # Counted once the chunk is committed (the queue's answer does not undo its rows).
        metrics.outcomes(channel.name, chunk.skipped)
        if chunk.last_contact_id is None:
            break
        after, first_batch, limit = chunk.last_contact_id, chunk.next_batch, NEXT_CHUNK
    report = lifecycle.report_for(session, campaign.id)
    # Workers start on the first chunks while later ones are planned: count every planned send.
    planned = sum(count for status, count in report.by_status.items() if status != DeliveryStatus.SKIPPED)
    campaign.planned_at = utcnow()
    session.flush()
    # Nothing to send, or workers sent it all while later chunks were planned: none of them could close it.
    delivery.finish_if_done(session, campaign.id)
    session.refresh(campaign)
    return Rollout(planned, report.skipped, queue_down=down is not None)
