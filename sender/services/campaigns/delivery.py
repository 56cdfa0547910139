"""Sending a batch: claim with the consent re-check, hand to the transport, record the outcome.

At most one message per (campaign, contact): a delivery leaves `queued` only through the claim, an atomic
UPDATE guarded by `status = 'queued'` that re-evaluates the consent gate in the same statement. A claimed
row stays `sending` until its outcome is written. Its message leaves only after its start is recorded
(`started_at`, see inflight.py): when a crash leaves a claim unresolved, the sweep marks a started one
`unknown` (never resent) and puts one that never started back to `queued` (expire_stale_claims).
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    DateTime,
    Integer,
    ScalarSelect,
    String,
    Table,
    and_,
    bindparam,
    case,
    column,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session, aliased

from sender import work
from sender.channels.base import Channel, SendResult, Verdict, get_channel
from sender.config import Settings
from sender.db import utcnow
from sender.enums import CampaignStatus, DeliveryReason, DeliveryStatus
from sender.models import Campaign, Contact, Delivery, Purpose
from sender.services.audience.contacts import suppress
from sender.services.campaigns import deferral, inflight, states
from sender.services.campaigns.inflight import InFlight
from sender.services.campaigns.outlet import Attempt, Outlet
from sender.services.consent.gate import gated_audience, rule_for
from sender.services.sequences import steps_sent

log = logging.getLogger(__name__)

# What record_outcomes writes besides delivery statuses: a verdict's temporary failure, and a message handed
# back unsent after repeated throttling (the provider never judged it).
RETRY = "retry"
THROTTLED = "throttled"
# Claim tokens of runs that record each start. A claim made by an older worker (a plain token) may have
# left without a start being recorded, so only these may go back to the queue unstarted.
TRACKED = "t-"
# Why a batch stopped early although its campaign is still sending: its process was told to stop.
WORKER_STOPPING = "worker stopping"
# A campaign is not done while one of its deliveries waits in the queue, is in flight, or waits for its slot.
BUSY = (DeliveryStatus.QUEUED, DeliveryStatus.SENDING, DeliveryStatus.DEFERRED)


@dataclass
class BatchReport:
    """What one run of a batch did."""

    sent: int = 0
    skipped: int = 0
    failed: int = 0
    retry: int = 0
    stopped: str | None = None
    skipped_reasons: dict[str, int] = field(default_factory=dict)
    deferred: int = 0
    # The earliest slot of a delivery deferred by this run (quiet hours): when to look again.
    resume_at: datetime | None = None
    # Messages by (outcome, reason), for the metrics (sender.metrics.outcomes).
    outcomes: dict[tuple[str, str | None], int] = field(default_factory=dict)

    def count(self, outcome: str, reason: str | None, n: int = 1) -> None:
        """Add `n` messages that ended in `outcome` for `reason`."""
        self.outcomes[(outcome, reason)] = self.outcomes.get((outcome, reason), 0) + n


def _recheck_reason(purpose_id: Any, channel: str, at: Any, rule: str) -> ScalarSelect[str | None]:
    """Correlated scalar subquery: the gate's reason for the delivery's contact (NULL = eligible)."""
    stmt, reason = gated_audience(purpose_id, get_channel(channel), at, rule)
    return (
        stmt.with_only_columns(reason)
        .where(Contact.id == Delivery.contact_id)
        .correlate(Delivery)
        .scalar_subquery()
    )


@functools.lru_cache(maxsize=32)
def _claim_statement(dialect: str, channel: str, rule: str = "consent") -> Any:
    """The claim UPDATE, built once per channel and rule; campaign, purpose, batch, token, now and limit are
    parameters (a statement built per batch cost as much as the claims of a small batch)."""
    now = bindparam("now", type_=DateTime)
    token = bindparam("token", type_=String)
    # An alias, so the subquery stands alone instead of being correlated to the UPDATE's own table.
    candidate = aliased(Delivery)
    pick = (
        select(candidate.id)
        .where(
            candidate.campaign_id == bindparam("c_campaign", type_=Integer),
            candidate.batch_no == bindparam("c_batch", type_=Integer),
            candidate.status == DeliveryStatus.QUEUED,
            # A row this run already tried (temporary failure) waits for the next run's backoff.
            or_(candidate.claim_token.is_(None), candidate.claim_token != token),
        )
        .order_by(candidate.id)
        .limit(bindparam("limit", type_=Integer))
    )
    if dialect == "postgresql":
        # Two runs of the same batch (duplicate enqueue) share the work instead of waiting on row locks.
        pick = pick.with_for_update(skip_locked=True)
    picked = pick.cte("picked")
    reason = _recheck_reason(bindparam("c_purpose", type_=Integer), channel, now, rule)
    # One statement picks the rows, re-checks consent and claims them: nothing can slip in between.
    return (
        update(Delivery)
        # A CTE runs once; a plain IN (subquery … LIMIT … SKIP LOCKED) may be rescanned by PostgreSQL
        # and then claim more rows than the limit.
        .where(Delivery.id.in_(select(picked.c.id)), Delivery.status == DeliveryStatus.QUEUED)
        .values(
            status=case((reason.is_(None), DeliveryStatus.SENDING), else_=DeliveryStatus.SKIPPED),
            reason=reason,
            claim_token=token,
            claimed_at=now,
            started_at=None,
            attempts=Delivery.attempts + 1,
        )
        .returning(Delivery.id, Delivery.contact_id, Delivery.status, Delivery.reason)
    )


def claim(
    session: Session, campaign: Campaign, batch_no: int, token: str, limit: int
) -> tuple[list[tuple[int, Contact]], dict[str, int]]:
    """Claim up to `limit` queued deliveries of a batch, re-checking consent in the same statement.

    The caller commits before any message leaves: no transaction (on SQLite, no write lock) is held while
    sending.
    """
    stmt = _claim_statement(session.get_bind().dialect.name, campaign.channel, rule_for(campaign.kind))
    params = {
        "now": utcnow(),
        "token": token,
        "limit": limit,
        "c_campaign": campaign.id,
        "c_batch": batch_no,
        "c_purpose": campaign.purpose_id,
    }
    rows = session.execute(stmt, params).all()
    if not rows:
        return [], {}
    skipped: dict[str, int] = {}
    to_send = {row.contact_id: row.id for row in rows if row.status == DeliveryStatus.SENDING}
    for row in rows:
        if row.status == DeliveryStatus.SKIPPED:
            skipped[row.reason] = skipped.get(row.reason, 0) + 1
    contacts = session.scalars(select(Contact).where(Contact.id.in_(to_send))).all()
    claimed = sorted(((to_send[c.id], c) for c in contacts), key=lambda pair: pair[0])
    return claimed, skipped


def record_outcomes(
    session: Session,
    settings: Settings,
    token: str,
    results: Sequence[tuple[int, Contact, Attempt | SendResult]],
    report: BatchReport,
    channel: Channel,
) -> list[tuple[int, Contact]]:
    """Write each message's outcome as the channel judges it (guarded by our claim token); the caller commits.

    Returns the (delivery id, contact) of the messages the provider accepted."""
    now = utcnow()
    max_attempts = len(settings.send_retry_intervals) + 1
    params = []
    accepted: list[tuple[int, Contact]] = []
    for delivery_id, contact, outcome in results:
        attempt = Attempt.of(channel, outcome) if isinstance(outcome, SendResult) else outcome
        verdict, result = attempt.verdict, attempt.result
        code = f"{result.code} " if result is not None and result.code else ""
        error = f"{code}{attempt.detail}".strip()[:500] or None
        status: str = verdict.status
        reason = verdict.reason
        if verdict.throttled:
            # Handed back after repeated throttling: the provider never judged the message, not an attempt.
            status = THROTTLED
        elif status == DeliveryStatus.SENT:
            error = None
        if verdict.suppress:
            digest = channel.address.hash_of(contact)
            if digest:
                suppress(session, digest, channel.name, verdict.suppress)
        params.append(
            {
                "b_id": delivery_id,
                "b_status": status,
                "b_reason": reason,
                "b_error": error,
                "b_provider": result.provider_id if result is not None else None,
            }
        )
        if status != THROTTLED:
            report.count(status, reason)
        if status == DeliveryStatus.SENT:
            report.sent += 1
            accepted.append((delivery_id, contact))
        elif status in (RETRY, THROTTLED):
            report.retry += 1
        else:
            report.failed += 1
    if not params:
        return accepted
    if session.get_bind().dialect.name == "postgresql":
        _write_outcomes_at_once(session, token, params, max_attempts, now)
    else:
        session.execute(
            _outcome_update(token, max_attempts, now, _BOUND),
            params,
            execution_options={"synchronize_session": False},
        )
    return accepted


# The outcome columns, as bound parameters of an executemany (SQLite) or as columns of a VALUES list.
_BOUND: dict[str, Any] = {
    name: bindparam(name, type_=String) for name in ("b_status", "b_reason", "b_error", "b_provider")
}
_BOUND["b_id"] = bindparam("b_id", type_=Integer)


def _outcome_update(token: str, max_attempts: int, now: datetime, source: Any, *from_: Any) -> Any:
    """The UPDATE that writes outcomes taken from `source` (bound parameters, or a VALUES list's columns)."""
    table = cast(Table, Delivery.__table__)
    b_status = source["b_status"]
    # A temporary failure goes back to the queue until its attempts run out; then it fails for good.
    retry_status = case(
        (table.c.attempts >= max_attempts, DeliveryStatus.FAILED), else_=DeliveryStatus.QUEUED
    )
    return (
        update(table)
        .where(table.c.id == source["b_id"], table.c.claim_token == token)
        .values(
            status=case(
                (b_status == RETRY, retry_status),
                (b_status == THROTTLED, DeliveryStatus.QUEUED),
                else_=b_status,
            ),
            reason=case(
                (
                    b_status == RETRY,
                    case((table.c.attempts >= max_attempts, DeliveryReason.TEMPORARY_FAILURE)),
                ),
                (b_status == THROTTLED, None),
                else_=source["b_reason"],
            ),
            # The claim counted an attempt; a throttled try gives it back.
            attempts=case((b_status == THROTTLED, table.c.attempts - 1), else_=table.c.attempts),
            last_error=source["b_error"],
            provider_id=source["b_provider"],
            sent_at=case((b_status == DeliveryStatus.SENT, now)),
        )
    )


def _write_outcomes_at_once(
    session: Session, token: str, params: list[dict[str, Any]], max_attempts: int, now: datetime
) -> None:
    """PostgreSQL: every outcome in one statement, `UPDATE deliveries … FROM unnest(arrays) AS outcome(…)`.

    Arrays rather than a VALUES list: the statement's text is the same whatever the number of outcomes, so
    it is compiled once per process and prepared once per connection.
    """
    session.execute(
        _outcome_update(token, max_attempts, now, _OUTCOMES.c),
        {name: [p[name] for p in params] for name in _OUTCOME_COLUMNS},
        execution_options={"synchronize_session": False},
    )


_OUTCOME_COLUMNS = ("b_id", "b_status", "b_reason", "b_error", "b_provider")
_OUTCOMES = (
    func.unnest(
        bindparam("b_id", type_=postgresql.ARRAY(Integer)),
        *(bindparam(name, type_=postgresql.ARRAY(String)) for name in _OUTCOME_COLUMNS[1:]),
    )
    .table_valued(column("b_id", Integer), *(column(name, String) for name in _OUTCOME_COLUMNS[1:]))
    .render_derived(name="outcome")
)


def send_batch(
    session: Session,
    settings: Settings,
    campaign_id: int,
    batch_no: int,
    outlet: Outlet,
    render: Callable[[Contact, int], Any],
) -> BatchReport:
    """Claim, render and send a batch until nothing queued is left, the campaign stops or the process does.

    At most SEND_CLAIM_SIZE claims are unresolved at any time. When half of them are done, their outcomes are
    written in the same transaction that claims as many again, so the outlet's connections keep sending while
    the database is busy. Each message starts only once its start is recorded (see inflight.py); a process
    told to stop claims nothing more, lets what started finish and gives the rest back to the queue.
    """
    report = BatchReport()
    token = f"{TRACKED}{uuid.uuid4().hex}"
    channel = outlet.channel
    size = settings.send_claim_size
    pending: list[tuple[int, Contact, Attempt]] = []
    flight = InFlight(session, token)
    unsent: list[int] = []  # claims that never reached the transport
    error: BaseException | None = None

    def claim_step() -> tuple[
        Campaign | None, list[tuple[int, Contact]], dict[str, int], dict[int, datetime]
    ]:
        """Write the outcomes so far and claim the next chunk, in one committed transaction."""
        campaign = session.get(Campaign, campaign_id, populate_existing=True)
        sent = record_outcomes(session, settings, token, pending, report, channel)
        # A sequence step's sends are told to the webhooks in the transaction that records them.
        steps_sent.announce(session, campaign_id, sent)
        if campaign is None or campaign.status != CampaignStatus.SENDING or inflight.STOPPING.is_set():
            _commit(session, "record outcomes")
            return campaign, [], {}, {}
        claimed, skipped = claim(session, campaign, batch_no, token, size - len(flight))
        held = deferral.hold(session, settings, channel, campaign, token, claimed)
        _commit(session, "claim")
        return campaign, claimed, skipped, held

    try:
        while error is None:
            campaign, claimed, skipped, held = inflight.through_outage(session, "claim", claim_step, report)
            pending = []
            if campaign is None or campaign.status != CampaignStatus.SENDING:
                report.stopped = campaign.status if campaign else "deleted"
                break
            if inflight.STOPPING.is_set() and not claimed:
                # (Rows claimed just before the stop are handed to the outlet all the same: refused their
                # start, they go back to the queue with the others.)
                report.stopped = WORKER_STOPPING
                break
            for reason, count in skipped.items():
                report.count(DeliveryStatus.SKIPPED, reason, count)
                report.skipped += count
                report.skipped_reasons[reason] = report.skipped_reasons.get(reason, 0) + count
            if held:
                claimed = [(d, c) for d, c in claimed if d not in held]
                report.deferred += len(held)
                report.count(DeliveryStatus.DEFERRED, deferral.REASON, len(held))
                report.resume_at = min([*held.values(), *([report.resume_at] if report.resume_at else [])])
            for delivery_id, contact in claimed:
                flight.submit(outlet, functools.partial(render, contact, delivery_id), delivery_id, contact)
            if not flight:
                if not skipped and not held:
                    break
                continue  # a chunk of skips only: there may be more queued rows behind it
            # Nothing more to claim: wait for the rest; otherwise refill once half the claims are resolved.
            at_least = len(flight) if not claimed else min(len(flight), max(1, size // 2))
            pending, unsent, error = flight.harvest(at_least)
    finally:
        # Even when something failed mid-batch, what went out is recorded: sent must never look unsent.
        # Whatever ends the batch (stop, pause, error), a message not yet started is handed back, not sent.
        flight.refusing = True
        finished, failed, late_error = flight.harvest(len(flight))
        flight.close()
        pending += finished

        def record_step() -> None:
            if not session.is_active:  # a step failed for another reason than an outage
                session.rollback()
            sent = record_outcomes(session, settings, token, pending, report, channel)
            steps_sent.announce(session, campaign_id, sent)
            release_unsent(session, settings, token, [*unsent, *failed])
            _commit(session, "record outcomes")

        inflight.through_outage(session, "record outcomes", record_step, report)
    if error is not None or late_error is not None:
        raise error or late_error  # type: ignore[misc]
    log.info(
        "campaign %s batch %s: sent=%s skipped=%s failed=%s retry=%s",
        campaign_id,
        batch_no,
        report.sent,
        report.skipped,
        report.failed,
        report.retry,
    )
    return report


def _commit(session: Session, step: str) -> None:
    """Commit a step of the batch; a queue that is down must not stop it (it only loses release jobs)."""
    try:
        work.commit(session, step)
    except work.QueueDown:
        # The deferrals are saved: the sweep puts them back in the queue once their slot has come.
        log.warning("%s: the release jobs of deferred deliveries wait for the sweep", step)


def release_unsent(session: Session, settings: Settings, token: str, delivery_ids: Sequence[int]) -> None:
    """Claims never handed to the transport go back to the queue (or fail once attempts run out)."""
    if not delivery_ids:
        return
    max_attempts = len(settings.send_retry_intervals) + 1
    session.execute(
        update(Delivery)
        .where(
            Delivery.id.in_(delivery_ids),
            Delivery.claim_token == token,
            Delivery.status == DeliveryStatus.SENDING,
        )
        .values(
            status=case(
                (Delivery.attempts >= max_attempts, DeliveryStatus.FAILED), else_=DeliveryStatus.QUEUED
            ),
            reason=case((Delivery.attempts >= max_attempts, DeliveryReason.NOT_SENT)),
        )
    )


def warm_up(session: Session, settings: Settings, channel: Channel) -> None:
    """Compile the send loop's statements once, on rows that cannot exist (id -1): nothing is changed.

    A worker forks a fresh process per batch job; SQLAlchemy's compiled-statement cache lives on the engine,
    so statements compiled in the parent are inherited by every job instead of being compiled in each one
    (measured: the claim statement, with the consent gate, dominated short batches).
    """
    try:
        session.get(Campaign, -1, populate_existing=True)
        claim(session, Campaign(id=-1, purpose_id=-1, channel=channel.name), -1, "warm-up", 1)
        session.scalars(select(Contact).where(Contact.id.in_([-1]))).all()
        attempt = Attempt(Verdict("sent"))
        record_outcomes(session, settings, "warm-up", [(-1, Contact(), attempt)], BatchReport(), channel)
        release_unsent(session, settings, "warm-up", [-1])
        inflight.mark_started(session, "warm-up", [-1])
        finish_if_done(session, -1)
    finally:
        session.rollback()


def finish_if_done(session: Session, campaign_id: int) -> bool:
    """Mark a sending campaign sent once it is planned and no delivery is queued, in flight or deferred."""
    busy = select(Delivery.id).where(Delivery.campaign_id == campaign_id, Delivery.status.in_(BUSY)).exists()
    return states.advance(
        session,
        campaign_id,
        states.FINISH,
        provided=and_(Campaign.planned_at.is_not(None), ~busy),
        finished_at=utcnow(),
    )


def expire_stale_claims(session: Session, lease_seconds: int) -> set[tuple[int, int]]:
    """Claims older than the lease lost their worker: a started one is marked unknown (it may have reached
    the person, it is never resent), one that never started goes back to the queue. Returns their
    (campaign, batch); the caller commits and asks for those batches again.

    Clearing the claim token is what makes this safe against a worker that is only slow: its start request
    for such a delivery no longer matches, so it does not send it (inflight.mark_started).
    """
    cutoff = utcnow() - timedelta(seconds=lease_seconds)
    stale = and_(Delivery.status == DeliveryStatus.SENDING, Delivery.claimed_at <= cutoff)
    untouched = and_(Delivery.claim_token.startswith(TRACKED), Delivery.started_at.is_(None))
    # Spelled out rather than NOT(untouched): with a NULL token that would be NULL, matching neither update.
    maybe_started = or_(
        Delivery.claim_token.is_(None),
        ~Delivery.claim_token.startswith(TRACKED),
        Delivery.started_at.is_not(None),
    )
    unknown = session.execute(
        update(Delivery)
        .where(stale, maybe_started)
        .values(status=DeliveryStatus.UNKNOWN, reason=DeliveryReason.OUTCOME_UNKNOWN)
        .returning(Delivery.campaign_id, Delivery.batch_no)
    ).all()
    requeued = session.execute(
        update(Delivery)
        .where(stale, untouched)
        # The claim counted an attempt that never happened: give it back.
        .values(status=DeliveryStatus.QUEUED, claim_token=None, attempts=Delivery.attempts - 1)
        .returning(Delivery.campaign_id, Delivery.batch_no)
    ).all()
    return {(row.campaign_id, row.batch_no) for row in [*unknown, *requeued]}


def purpose_of(session: Session, campaign: Campaign) -> Purpose:
    """The campaign's purpose row."""
    purpose = session.get(Purpose, campaign.purpose_id)
    assert purpose is not None
    return purpose
