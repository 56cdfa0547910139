"""Campaign flows that span the database and the queue: send (launch or schedule), resume, run a batch,
release deferred deliveries, sweep.

Each is one unit of work (sender.work): the jobs it records leave only after its commit. A launch commits
in named, idempotent steps: the claim of the campaign, then each chunk of its audience with the batch jobs
that send it, so a fast worker always finds its rows and the first messages leave while the rest of a large
audience is planned. With the queue down, the rows are the memory: planning goes on, and the sweep enqueues
the batches once Redis is back.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Container, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from sender import metrics, work
from sender.channels.base import channels, get_channel
from sender.config import Settings
from sender.db import utcnow
from sender.enums import CampaignKind, CampaignStatus
from sender.i18n import N_
from sender.models import Campaign, Delivery
from sender.runtime import Runtime
from sender.services.accounts import organisation
from sender.services.campaigns import (
    ab_tests,
    deferral,
    delivery,
    journal,
    lifecycle,
    planning,
    requalify,
    states,
)
from sender.services.campaigns.delivery import BatchReport
from sender.services.campaigns.outlet import Outlet
from sender.services.campaigns.rollout import QUEUE_DOWN, Rollout, plan_and_enqueue
from sender.services.composer import checks as composer_checks
from sender.services.composer import templates as composer_templates
from sender.services.deliverability import breaker
from sender.services.engagement import plan as tracking_plan
from sender.services.errors import Conflict, NotFound
from sender.services.messages import transactional, variants
from sender.services.messages.rendering import MessageRenderer, check_sender_identity
from sender.services.records import audit, breach_notices, launch_check
from sender.services.webhooks import delivery as webhook_delivery
from sender.work.jobs import LaunchCampaign, SendBatch

log = logging.getLogger(__name__)

# A launch or retry due longer ago than this was missed by the scheduler: the sweep reports and repairs it.
OVERDUE_MARGIN_SECONDS = 60


class RetryLater(Exception):
    """Some messages met temporary failures; raising lets RQ retry the batch with backoff."""


@dataclass(frozen=True)
class Sent:
    """What a send call did: the campaign's status after it, and what planning queued and skipped."""

    status: str
    queued: int = 0
    skipped: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class SweepReport:
    """What a sweep found and did."""

    stale_batches: int
    requeued_jobs: int
    finished: int
    resumed_plannings: int
    overdue_launches: int = 0
    overdue_jobs: int = 0
    # Webhook attempts the database says are due, asked for again (their job may have been lost).
    webhook_attempts: int = 0
    # Transactional messages asked for again (lost before they started), and those lost while sending.
    transactional_requeued: int = 0
    transactional_unknown: int = 0


def send(
    session: Session,
    settings: Settings,
    campaign_id: int,
    actor: str,
    *,
    now: bool = False,
    at: datetime | None = None,
) -> Sent:
    """Launch the campaign now (plan, record, enqueue), or schedule its launch for `at` (by default its own
    future `scheduled_at`).

    A campaign already scheduled is launched early only when the caller says so (`now`): a retried send
    call must not turn next week's campaign into one sent at once.
    """
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(N_("no such campaign"))
    if campaign.kind == CampaignKind.LEGAL_NOTICE:
        # Art. 34: recorded against its incident, approved by the DPO as it stands, free of promotion.
        breach_notices.check_notice(session, campaign)
    if at is None and not now:
        if campaign.status == CampaignStatus.SCHEDULED:
            when = campaign.scheduled_at.isoformat() if campaign.scheduled_at else "later"
            raise Conflict(
                N_('campaign is scheduled for %(when)sZ; send {"now": true} to launch it now', when=when)
            )
        later = campaign.scheduled_at
        if campaign.status == CampaignStatus.DRAFT and later is not None and later > utcnow():
            at = later
    if at is None and campaign.kind != CampaignKind.REQUALIFICATION:
        # The organisation's identity as set on its settings page, env variables winning: no restart needed.
        # The channel is resolved once for the whole launch: the identity check and planning share it.
        channel = get_channel(campaign.channel)
        check_sender_identity(organisation.effective_settings(session, settings), channel)
        launch_check.check_launch(session, settings, campaign, channel)
        # Its content, each A/B variant's apart, read once for the checks and the links.
        contents = variants.contents(campaign)
        # Every image described (alt text); the template is frozen as what was sent.
        composer_checks.refuse_missing_alt(campaign, contents)
        composer_templates.freeze_for(session, campaign)
        # The links of its content become the only targets its redirect knows (committed with the launch).
        tracking_plan.record_links(session, settings, campaign, contents)
        states.move(session, campaign, states.LAUNCH, launched_at=utcnow())
        work.commit(session, "launch")
        rolled = plan_and_enqueue(session, settings, campaign, channel, after=0, first_batch=0)
        entry, sent = _launched(rolled), Sent(campaign.status, rolled.queued, rolled.skipped)
    elif at is None:
        # Its audience is whoever is due when `sender requalify run` comes: starting only opens the cycle.
        requalify.start(session, campaign)
        entry = journal.Entry(
            "requalification.start",
            "requalification start",
            f"requalification started, but {QUEUE_DOWN}",
        )
        sent = Sent(campaign.status)
    else:
        states.move(session, campaign, states.SCHEDULE, scheduled_at=at)
        entry = journal.Entry(
            "campaign.schedule",
            "schedule",
            # The database holds the launch time: the sweep launches it once it is overdue.
            f"campaign scheduled, but {QUEUE_DOWN}: it is launched once Redis is back",
            {"at": at.isoformat()},
            later=(LaunchCampaign(campaign.id, campaign.channel), at),
        )
        sent = Sent(campaign.status)
    # Every outcome is written, and committed, in one place: the send's journal.
    journal.note(session, actor, campaign, entry)
    return sent


def _launched(rolled: Rollout) -> journal.Entry:
    """The journal's entry for a launch whose audience is planned, with its counts."""
    return journal.Entry(
        "campaign.launch",
        "planned",
        f"campaign launched, but {QUEUE_DOWN}: its messages leave once Redis is back",
        {"queued": rolled.queued, "skipped": rolled.skipped},
        unsent=rolled.queue_down,
    )


def launch_scheduled(runtime: Runtime, campaign_id: int) -> Sent | str:
    """The scheduler's launch of a campaign now due; the reason it was skipped, if it was."""
    with work.unit(runtime.Session, f"launch campaign {campaign_id}") as session:
        campaign = lifecycle.get(session, campaign_id)
        if campaign.status != CampaignStatus.SCHEDULED:
            return f"campaign is {campaign.status}"
        try:
            return send(session, runtime.settings, campaign_id, "scheduler", now=True)
        except Conflict as exc:
            # The scheduler and the sweep may both hand over the same due launch; the first one wins.
            return exc.message


def resume(session: Session, campaign: Campaign, actor: str) -> None:
    """Resume a paused campaign and enqueue its unfinished batches (sent once the caller's unit commits)."""
    # A person resumes, whoever paused: the circuit breaker's reason goes with the pause, and it counts
    # again from now (what was reported before, the person has seen).
    states.move(session, campaign, states.RESUME, paused_reason=None, resumed_at=utcnow())
    audit.record(session, actor, "campaign.sending", "campaign", campaign.id)
    for batch_no in lifecycle.pending_batches(session, campaign.id):
        work.enqueue(session, SendBatch(campaign.id, batch_no, campaign.channel))


def run_batch(runtime: Runtime, campaign_id: int, batch_no: int) -> BatchReport:
    """Send one batch over the channel's pool of connections; raise RetryLater when some must be retried."""
    started = time.monotonic()
    with work.unit(runtime.Session, f"campaign {campaign_id} batch {batch_no}") as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None:
            return BatchReport(stopped="deleted")
        effective = organisation.effective_settings(session, runtime.settings)
        renderer = MessageRenderer(
            effective,
            runtime.tokens,
            campaign,
            delivery.purpose_of(session, campaign),
            requalify.message_context(session, campaign),
            tracking=tracking_plan.for_batch(session, effective, runtime.tokens, campaign, batch_no),
            variant=ab_tests.batch_variant(session, campaign, batch_no),
        )
        # The circuit breaker looks before the batch claims anything: past a threshold the campaign is paused,
        # and the first claim step finds it so (and commits the pause).
        breaker.guard(session, effective, campaign_id)
        # The shared rate limit needs Redis; without a configured rate the outlet never touches it. The
        # transports get the effective settings: a DKIM key set on the Organisation page signs the batch.
        with Outlet(renderer.channel, effective, runtime.redis) as outlet:
            report = delivery.send_batch(
                session, runtime.settings, campaign_id, batch_no, outlet, renderer.render
            )
        delivery.finish_if_done(session, campaign_id)
    metrics.outcomes(renderer.channel.name, report.outcomes)
    metrics.batch_seconds(renderer.channel.name, time.monotonic() - started)
    if report.retry or report.stopped == delivery.WORKER_STOPPING:
        # RQ runs the batch again after its retry interval; a stopped one then goes on where it stopped.
        raise RetryLater(f"campaign {campaign_id} batch {batch_no}: {report.retry} messages to send again")
    return report


def requeue(
    session: Session, campaign_id: int, channel: str, batches: Iterable[int], *, dead: Container[int] = ()
) -> int:
    """Ask again for batches that still hold queued deliveries, unless their job waits or runs; how many.

    A batch in `dead` lost its worker (its claim expired): it gets a fresh job, whatever RQ says of the old.
    """
    asked = 0
    for batch_no in batches:
        job = SendBatch(campaign_id, batch_no, channel, uuid.uuid4().hex[:8] if batch_no in dead else None)
        if job.restart is None:
            state = work.state(session, job)
            if state is not None and state.alive:
                continue
        work.enqueue(session, job)
        asked += 1
    return asked


def release_deferred(runtime: Runtime, campaign_id: int) -> int:
    """Queue again a campaign's deferred deliveries whose slot has come, and enqueue their batches."""
    with work.unit(runtime.Session, f"release deferred deliveries of campaign {campaign_id}") as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None or not deferral.release_due(session, campaign_id):
            return 0
        batches = lifecycle.pending_batches(session, campaign_id)
        for batch_no in batches:
            work.enqueue(session, SendBatch(campaign_id, batch_no, campaign.channel))
    return len(batches)


def warm_up(runtime: Runtime) -> None:
    """Prepare a worker before it forks its first job: the send loop's SQL, compiled for every channel."""
    with runtime.Session() as session:
        for channel in channels():
            delivery.warm_up(session, runtime.settings, channel)


def sweep(
    runtime: Runtime, lease_seconds: int | None = None, margin_seconds: int = OVERDUE_MARGIN_SECONDS
) -> SweepReport:
    """Finish interrupted planning, expire stale claims (unknown, or queued again if never started), re-enqueue unfinished batches, close campaigns.

    The database says what must run and when; RQ only delivers it: overdue launches are enqueued again.
    With the queue unreachable, the database work is saved and QueueDown (or QueueUnavailable) is raised.
    """
    lease = runtime.settings.send_lease_seconds if lease_seconds is None else lease_seconds
    with work.unit(runtime.Session, "sweep") as session:
        overdue, late_jobs = _launch_overdue(session, margin_seconds)
        stale = delivery.expire_stale_claims(session, lease)
        # Audit events whose process ended before its sealer ran (a forked job) join the chain here.
        audit.seal(session)
        work.commit(session, "stale claims")
        cutoff = utcnow() - timedelta(seconds=lease)
        # A launch whose request died mid-planning: plan the rest of its audience.
        unplanned = session.scalars(
            select(Campaign).where(
                Campaign.status.in_((CampaignStatus.SENDING, CampaignStatus.PAUSED)),
                Campaign.planned_at.is_(None),
                Campaign.launched_at <= cutoff,
                # Requalification cycles are planned by `sender requalify run`, sequence steps by
                # `sender sequences run`: never from lists.
                Campaign.kind.not_in((CampaignKind.REQUALIFICATION, CampaignKind.SEQUENCE)),
            )
        ).all()
        for campaign in unplanned:
            after, first_batch = planning.resume_point(session, campaign.id)
            channel = get_channel(campaign.channel)
            rolled = plan_and_enqueue(
                session, runtime.settings, campaign, channel, after=after, first_batch=first_batch
            )
            journal.note(session, "sweep", campaign, _launched(rolled))
        # Deferred deliveries whose slot has come, in case their scheduled release job was lost.
        deferral.release_due(session)
        # A/B tests whose wait is over, in case their decision job was lost.
        ab_tests.decide_due(session, margin_seconds)
        webhook_attempts = webhook_delivery.requeue_due(session, margin_seconds)
        lost_messages = transactional.sweep(session, margin_seconds, lease)
        sending = session.scalars(select(Campaign).where(Campaign.status == CampaignStatus.SENDING)).all()
        finished = {c.id for c in sending if delivery.finish_if_done(session, c.id)}
        pending = {c.id: lifecycle.pending_batches(session, c.id) for c in sending if c.id not in finished}
        # Reads done: no transaction is held while the queue is asked about each batch.
        work.commit(session, "finished campaigns")
        requeued = sum(
            requeue(
                session,
                campaign.id,
                campaign.channel,
                pending.get(campaign.id, ()),
                dead={batch for cid, batch in stale if cid == campaign.id},
            )
            for campaign in sending
        )
    return SweepReport(
        len(stale),
        requeued,
        len(finished),
        len(unplanned),
        len(overdue),
        late_jobs,
        webhook_attempts,
        *lost_messages,
    )


def _launch_overdue(session: Session, margin_seconds: int) -> tuple[list[int], int]:
    """Enqueue the launches the database says are overdue; count delayed jobs no scheduler moved; log both."""
    cutoff = utcnow() - timedelta(seconds=margin_seconds)
    overdue = session.execute(
        select(Campaign.id, Campaign.channel).where(
            Campaign.status == CampaignStatus.SCHEDULED, Campaign.scheduled_at <= cutoff
        )
    ).all()
    for campaign_id, channel in overdue:
        work.enqueue(session, LaunchCampaign(campaign_id, channel))
    work.commit(session, "overdue launches")
    late_jobs = work.overdue(session, margin_seconds)
    ids = [row.id for row in overdue]
    if ids or late_jobs:
        log.warning(
            "overdue by more than %ss: %s scheduled launches (campaigns %s), %s delayed jobs; "
            "is a worker running with the scheduler?",
            margin_seconds,
            len(ids),
            ids[:20],
            late_jobs,
        )
    return ids, late_jobs


def deliveries_page(
    session: Session, campaign_id: int, status: str | None, after_id: int, limit: int
) -> list[Delivery]:
    """A page of a campaign's deliveries ordered by id, optionally filtered by status."""
    stmt = select(Delivery).where(Delivery.campaign_id == campaign_id, Delivery.id > after_id)
    if status:
        stmt = stmt.where(Delivery.status == status)
    return list(session.scalars(stmt.order_by(Delivery.id).limit(limit)))
