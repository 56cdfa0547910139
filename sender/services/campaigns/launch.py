"""Campaign flows that span the database and the queue: commit first, then enqueue."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.channels.base import channels
from sender.db import utcnow
from sender.enums import CampaignStatus
from sender.models import Campaign, Delivery
from sender.runtime import Runtime
from sender.services.accounts import organisation
from sender.services.campaigns import deferral, delivery, lifecycle, planning, requalify
from sender.services.campaigns.delivery import BatchReport
from sender.services.campaigns.lifecycle import LaunchResult
from sender.services.campaigns.outlet import Outlet
from sender.services.errors import QueueUnavailable
from sender.services.messages.rendering import MessageRenderer
from sender.tasks.dispatch import (
    enqueue_batches,
    enqueue_launch,
    overdue_scheduled_jobs,
    schedule_launch,
    schedule_release,
)

log = logging.getLogger(__name__)

# Contacts planned per INSERT: a small first step, so sending starts within a second on any audience.
FIRST_CHUNK = 1_000
NEXT_CHUNK = 25_000
# A launch or retry due longer ago than this was missed by the scheduler: the sweep reports and repairs it.
OVERDUE_MARGIN_SECONDS = 60
QUEUE_DOWN = "the queue (Redis) is unreachable"


class RetryLater(Exception):
    """Some messages met temporary failures; raising lets RQ retry the batch with backoff."""


@dataclass(frozen=True)
class SweepReport:
    """What a sweep found and did."""

    stale_batches: int
    requeued_jobs: int
    finished: int
    resumed_plannings: int
    overdue_launches: int = 0
    overdue_jobs: int = 0


def launch_now(runtime: Runtime, session: Session, campaign: Campaign, actor: str) -> LaunchResult:
    """Mark the campaign sending, then plan and enqueue its audience chunk by chunk."""
    if campaign.kind == requalify.KIND:
        # Its audience is whoever is due when `sender requalify run` comes: starting only opens the cycle.
        requalify.start(session, campaign, actor)
        session.commit()
        return LaunchResult(0, {}, 0)
    # The organisation's identity as set on its settings page, env variables winning: no restart needed.
    lifecycle.begin_launch(
        session, organisation.effective_settings(session, runtime.settings), campaign, actor
    )
    session.commit()
    return plan_and_enqueue(runtime, session, campaign, actor, after=0, first_batch=0)


def plan_and_enqueue(
    runtime: Runtime, session: Session, campaign: Campaign, actor: str, *, after: int, first_batch: int
) -> LaunchResult:
    """Plan from contact `after` on; each chunk is committed, then its batches enqueued at once.

    A small first chunk puts the first messages on the wire while the rest of a large audience is planned.
    """
    list_ids = [lst.id for lst in campaign.lists]
    limit = FIRST_CHUNK
    queue_up = True
    while True:
        session.refresh(campaign)
        if campaign.status == "cancelled":
            break
        chunk = planning.plan_chunk(
            session,
            campaign,
            list_ids,
            utcnow(),
            runtime.settings.send_batch_size,
            after=after,
            limit=limit,
            first_batch=first_batch,
        )
        session.commit()
        # Only after the commit: a fast worker must find every row it is given. The rows are the memory:
        # with Redis down, planning goes on and the sweep enqueues the batches once it is back.
        queue_up = queue_up and _enqueue(runtime, campaign.id, chunk.batches)
        if chunk.last_contact_id is None:
            break
        after, first_batch, limit = chunk.last_contact_id, chunk.batches.stop, NEXT_CHUNK
    result = lifecycle.finish_planning(session, campaign, actor)
    session.commit()
    # Workers may have sent everything while later chunks were planned; none of them could close it then.
    delivery.finish_if_done(session, campaign.id)
    session.refresh(campaign)
    if not queue_up:
        session.commit()  # end the read above: the error leaves with its traceback, not with a transaction
        raise QueueUnavailable(f"campaign launched, but {QUEUE_DOWN}: its messages leave once Redis is back")
    return result


def _enqueue(runtime: Runtime, campaign_id: int, batches: range) -> bool:
    try:
        enqueue_batches(runtime, campaign_id, batches)
    except RedisError as exc:
        log.warning("campaign %s: %s (%s); the sweep will enqueue its batches", campaign_id, QUEUE_DOWN, exc)
        return False
    return True


def schedule(runtime: Runtime, session: Session, campaign: Campaign, when: datetime, actor: str) -> None:
    """Schedule the launch for later; planning happens then, against the audience of that moment."""
    lifecycle.schedule(session, campaign, when, actor)
    session.commit()
    try:
        schedule_launch(runtime, campaign.id, when)
    except RedisError:
        # The database holds the launch time: the sweep launches it once it is overdue.
        raise QueueUnavailable(
            f"campaign scheduled, but {QUEUE_DOWN}: it is launched once Redis is back"
        ) from None


def resume(runtime: Runtime, session: Session, campaign: Campaign, actor: str) -> None:
    """Resume a paused campaign and re-enqueue its unfinished batches."""
    batches = lifecycle.resume(session, campaign, actor)
    session.commit()
    enqueue_batches(runtime, campaign.id, batches)


def run_batch(runtime: Runtime, campaign_id: int, batch_no: int) -> BatchReport:
    """Send one batch over the channel's pool of connections; raise RetryLater when some must be retried."""
    with runtime.Session() as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None:
            return BatchReport(stopped="deleted")
        renderer = MessageRenderer(
            organisation.effective_settings(session, runtime.settings),
            runtime.tokens,
            campaign,
            delivery.purpose_of(session, campaign),
            requalify.message_context(session, campaign),
        )
        # The shared rate limit needs Redis; without a configured rate the outlet never touches it.
        with Outlet(renderer.channel, runtime.settings, runtime.redis) as outlet:
            report = delivery.send_batch(
                session, runtime.settings, campaign_id, batch_no, outlet, renderer.render
            )
        delivery.finish_if_done(session, campaign_id)
    if report.resume_at is not None:
        # Deferred by quiet hours: look again when the earliest window opens.
        schedule_release(runtime, campaign_id, report.resume_at)
    if report.retry:
        raise RetryLater(f"campaign {campaign_id} batch {batch_no}: {report.retry} temporary failures")
    return report


def release_deferred(runtime: Runtime, campaign_id: int) -> int:
    """Queue again a campaign's deferred deliveries whose slot has come, and enqueue their batches."""
    with runtime.Session() as session:
        released = deferral.release_due(session, campaign_id)
        session.commit()
        batches = lifecycle.pending_batches(session, campaign_id) if released else []
    return len(enqueue_batches(runtime, campaign_id, batches))


def warm_up(runtime: Runtime) -> None:
    """Prepare a worker before it forks its first job: the send loop's SQL, compiled for every channel."""
    with runtime.Session() as session:
        for channel in channels():
            delivery.warm_up(session, runtime.settings, channel)


def sweep(
    runtime: Runtime, lease_seconds: int | None = None, margin_seconds: int = OVERDUE_MARGIN_SECONDS
) -> SweepReport:
    """Finish interrupted planning, mark stale claims unknown, re-enqueue unfinished batches, close campaigns.

    The database says what must run and when; RQ only delivers it: overdue launches are enqueued again.
    """
    lease = runtime.settings.send_lease_seconds if lease_seconds is None else lease_seconds
    with runtime.Session() as session:
        overdue, late_jobs = _launch_overdue(runtime, session, margin_seconds)
        stale = delivery.mark_stale_unknown(session, lease)
        cutoff = utcnow() - timedelta(seconds=lease)
        # A launch whose request died mid-planning: plan the rest of its audience.
        unplanned = session.scalars(
            select(Campaign).where(
                Campaign.status.in_(("sending", "paused")),
                Campaign.planned_at.is_(None),
                Campaign.launched_at <= cutoff,
                # Requalification cycles are planned by `sender requalify run`, never from lists.
                Campaign.kind != requalify.KIND,
            )
        ).all()
        for campaign in unplanned:
            after, first_batch = planning.resume_point(session, campaign.id)
            plan_and_enqueue(runtime, session, campaign, "sweep", after=after, first_batch=first_batch)
        # Deferred deliveries whose slot has come, in case their scheduled release job was lost.
        deferral.release_due(session)
        session.commit()
        sending = list(session.scalars(select(Campaign.id).where(Campaign.status == "sending")))
        requeued = finished = 0
        for campaign_id in sending:
            if delivery.finish_if_done(session, campaign_id):
                finished += 1
                continue
            batches = lifecycle.pending_batches(session, campaign_id)
            # A batch with an expired claim lost its worker, whatever RQ still says about its job.
            dead = [b for b in batches if (campaign_id, b) in stale]
            others = [b for b in batches if (campaign_id, b) not in stale]
            requeued += len(enqueue_batches(runtime, campaign_id, dead, force=True))
            requeued += len(enqueue_batches(runtime, campaign_id, others))
    return SweepReport(len(stale), requeued, finished, len(unplanned), len(overdue), late_jobs)


def _launch_overdue(runtime: Runtime, session: Session, margin_seconds: int) -> tuple[list[int], int]:
    """Enqueue the launches the database says are overdue; count delayed jobs no scheduler moved; log both."""
    cutoff = utcnow() - timedelta(seconds=margin_seconds)
    overdue = list(
        session.scalars(
            select(Campaign.id).where(
                Campaign.status == CampaignStatus.SCHEDULED, Campaign.scheduled_at <= cutoff
            )
        )
    )
    session.commit()  # end the read before talking to Redis (on SQLite it holds the write lock)
    for campaign_id in overdue:
        enqueue_launch(runtime, campaign_id)
    late_jobs = overdue_scheduled_jobs(runtime, margin_seconds)
    if overdue or late_jobs:
        log.warning(
            "overdue by more than %ss: %s scheduled launches (campaigns %s), %s delayed jobs; "
            "is a worker running with the scheduler?",
            margin_seconds,
            len(overdue),
            overdue[:20],
            late_jobs,
        )
    return overdue, late_jobs


def deliveries_page(
    session: Session, campaign_id: int, status: str | None, after_id: int, limit: int
) -> list[Delivery]:
    """A page of a campaign's deliveries ordered by id, optionally filtered by status."""
    stmt = select(Delivery).where(Delivery.campaign_id == campaign_id, Delivery.id > after_id)
    if status:
        stmt = stmt.where(Delivery.status == status)
    return list(session.scalars(stmt.order_by(Delivery.id).limit(limit)))
