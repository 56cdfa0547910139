"""Sending a batch: claim with the consent re-check, hand to the transport, record the outcome.

At most one message per (campaign, contact): a delivery leaves `queued` only through the claim, an atomic
UPDATE guarded by `status = 'queued'` that re-evaluates the consent gate in the same statement. A claimed
row whose outcome a crash left unknown stays `sending` until the sweep marks it `unknown`; nothing ever
puts it back to `queued`, so it is never resent blindly.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import DateTime, Integer, ScalarSelect, String, Table, bindparam, case, or_, select, update
from sqlalchemy.orm import Session, aliased

from sender.channels.base import EmailTransport, OutgoingEmail, SendResult
from sender.config import Settings
from sender.db import rowcount, utcnow
from sender.models import Campaign, Contact, Delivery, Purpose
from sender.services.audience.contacts import suppress
from sender.services.consent.gate import gated_audience

log = logging.getLogger(__name__)


@dataclass
class BatchReport:
    """What one run of a batch did."""

    sent: int = 0
    skipped: int = 0
    failed: int = 0
    retry: int = 0
    stopped: str | None = None
    skipped_reasons: dict[str, int] = field(default_factory=dict)


def _recheck_reason(purpose_id: int, channel: str, at: Any) -> ScalarSelect[str | None]:
    """Correlated scalar subquery: the gate's reason for the delivery's contact (NULL = eligible)."""
    stmt, reason = gated_audience(purpose_id, channel, at)
    return (
        stmt.with_only_columns(reason)
        .where(Contact.id == Delivery.contact_id)
        .correlate(Delivery)
        .scalar_subquery()
    )


@functools.lru_cache(maxsize=256)
def _claim_statement(dialect: str, campaign_id: int, purpose_id: int, channel: str, batch_no: int) -> Any:
    """The claim UPDATE of one batch, built once and run with token, now and limit as parameters."""
    now = bindparam("now", type_=DateTime)
    token = bindparam("token", type_=String)
    # An alias, so the subquery stands alone instead of being correlated to the UPDATE's own table.
    candidate = aliased(Delivery)
    pick = (
        select(candidate.id)
        .where(
            candidate.campaign_id == campaign_id,
            candidate.batch_no == batch_no,
            candidate.status == "queued",
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
    reason = _recheck_reason(purpose_id, channel, now)
    # One statement picks the rows, re-checks consent and claims them: nothing can slip in between.
    return (
        update(Delivery)
        # A CTE runs once; a plain IN (subquery … LIMIT … SKIP LOCKED) may be rescanned by PostgreSQL
        # and then claim more rows than the limit.
        .where(Delivery.id.in_(select(picked.c.id)), Delivery.status == "queued")
        .values(
            status=case((reason.is_(None), "sending"), else_="skipped"),
            reason=reason,
            claim_token=token,
            claimed_at=now,
            attempts=Delivery.attempts + 1,
        )
        .returning(Delivery.id, Delivery.contact_id, Delivery.status, Delivery.reason)
    )


def claim(
    session: Session, campaign: Campaign, batch_no: int, token: str, limit: int
) -> tuple[list[tuple[int, Contact]], dict[str, int]]:
    """Claim up to `limit` queued deliveries of a batch, re-checking consent in the same statement; commit."""
    stmt = _claim_statement(
        session.get_bind().dialect.name, campaign.id, campaign.purpose_id, campaign.channel, batch_no
    )
    rows = session.execute(stmt, {"now": utcnow(), "token": token, "limit": limit}).all()
    if not rows:
        session.commit()
        return [], {}
    skipped: dict[str, int] = {}
    to_send = {row.contact_id: row.id for row in rows if row.status == "sending"}
    for row in rows:
        if row.status == "skipped":
            skipped[row.reason] = skipped.get(row.reason, 0) + 1
    contacts = session.scalars(select(Contact).where(Contact.id.in_(to_send))).all()
    # Commit before any message leaves: no transaction (on SQLite, no write lock) is held while sending.
    session.commit()
    claimed = sorted(((to_send[c.id], c) for c in contacts), key=lambda pair: pair[0])
    return claimed, skipped


def record_outcomes(
    session: Session,
    settings: Settings,
    token: str,
    results: Sequence[tuple[int, Contact, SendResult]],
    report: BatchReport,
) -> None:
    """Write each message's outcome (guarded by our claim token); the caller commits."""
    now = utcnow()
    max_attempts = len(settings.send_retry_intervals) + 1
    params = []
    for delivery_id, contact, result in results:
        status, reason, error = "sent", None, None
        if result.outcome_unknown:
            # The connection died after DATA: the message may have been delivered, so never resend it.
            status, reason, error = "unknown", "outcome_unknown", result.detail[:500]
        elif result.outcome == "temporary":
            status, error = "retry", f"{result.code or ''} {result.detail}".strip()[:500]
        elif result.outcome == "permanent":
            status, reason = "failed", "invalid_address" if result.address_invalid else "rejected"
            error = f"{result.code or ''} {result.detail}".strip()[:500]
            if result.address_invalid and contact.email_hash:
                suppress(session, contact.email_hash, "email", "hard_bounce")
        params.append(
            {
                "b_id": delivery_id,
                "b_status": status,
                "b_reason": reason,
                "b_error": error,
                "b_provider": result.provider_id,
            }
        )
        if status == "sent":
            report.sent += 1
        elif status == "retry":
            report.retry += 1
        else:
            report.failed += 1
    if not params:
        return
    table = cast(Table, Delivery.__table__)
    # A temporary failure goes back to the queue until its attempts run out; then it fails for good.
    retry_status = case((table.c.attempts >= max_attempts, "failed"), else_="queued")
    new_status = case((bindparam("b_status") == "retry", retry_status), else_=bindparam("b_status"))
    session.execute(
        update(table)
        .where(table.c.id == bindparam("b_id"), table.c.claim_token == token)
        .values(
            status=new_status,
            reason=case(
                (
                    bindparam("b_status") == "retry",
                    case((table.c.attempts >= max_attempts, "temporary_failure")),
                ),
                else_=bindparam("b_reason"),
            ),
            last_error=bindparam("b_error"),
            provider_id=bindparam("b_provider"),
            sent_at=case((bindparam("b_status") == "sent", now)),
        ),
        params,
        execution_options={"synchronize_session": False},
    )


def send_batch(
    session: Session,
    settings: Settings,
    campaign_id: int,
    batch_no: int,
    transport: EmailTransport,
    render: Callable[[Contact, int], OutgoingEmail],
) -> BatchReport:
    """Claim, render and send a batch chunk by chunk until nothing queued is left or the campaign stops."""
    report = BatchReport()
    token = uuid.uuid4().hex
    pending: list[tuple[int, Contact, SendResult]] = []
    claimed: list[tuple[int, Contact]] = []
    try:
        # Render ahead in a second thread: it runs while this one waits for the SMTP server's replies.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="render") as ahead:
            while True:
                campaign = session.get(Campaign, campaign_id, populate_existing=True)
                if campaign is None or campaign.status != "sending":
                    report.stopped = campaign.status if campaign else "deleted"
                    break
                # Outcomes of the previous chunk are written in the same transaction as the next claim.
                record_outcomes(session, settings, token, pending, report)
                pending = []
                claimed, skipped = claim(session, campaign, batch_no, token, settings.send_claim_size)
                for reason, count in skipped.items():
                    report.skipped += count
                    report.skipped_reasons[reason] = report.skipped_reasons.get(reason, 0) + count
                if not claimed:
                    break
                messages = [ahead.submit(render, contact, delivery_id) for delivery_id, contact in claimed]
                for (delivery_id, contact), message in zip(claimed, messages, strict=True):
                    pending.append((delivery_id, contact, transport.send(message.result())))
    finally:
        # Even when something failed mid-chunk, what went out is recorded: sent must never look unsent.
        record_outcomes(session, settings, token, pending, report)
        handed = {delivery_id for delivery_id, _, _ in pending}
        release_unsent(session, settings, token, [d for d, _ in claimed if d not in handed])
        session.commit()
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


def release_unsent(session: Session, settings: Settings, token: str, delivery_ids: Sequence[int]) -> None:
    """Claims never handed to the transport go back to the queue (or fail once attempts run out)."""
    if not delivery_ids:
        return
    max_attempts = len(settings.send_retry_intervals) + 1
    session.execute(
        update(Delivery)
        .where(Delivery.id.in_(delivery_ids), Delivery.claim_token == token, Delivery.status == "sending")
        .values(
            status=case((Delivery.attempts >= max_attempts, "failed"), else_="queued"),
            reason=case((Delivery.attempts >= max_attempts, "not_sent")),
        )
    )


def finish_if_done(session: Session, campaign_id: int) -> bool:
    """Mark a sending campaign sent once no delivery is queued or in flight; commit."""
    busy = (
        select(Delivery.id)
        .where(Delivery.campaign_id == campaign_id, Delivery.status.in_(("queued", "sending")))
        .exists()
    )
    done = rowcount(
        session.execute(
            update(Campaign)
            .where(
                Campaign.id == campaign_id,
                Campaign.status == "sending",
                Campaign.planned_at.is_not(None),
                ~busy,
            )
            .values(status="sent", finished_at=utcnow())
        )
    )
    session.commit()
    return bool(done)


def mark_stale_unknown(session: Session, lease_seconds: int) -> set[tuple[int, int]]:
    """Claims older than the lease were never resolved: mark them unknown; return their (campaign, batch)."""
    cutoff = utcnow() - timedelta(seconds=lease_seconds)
    rows = session.execute(
        update(Delivery)
        .where(Delivery.status == "sending", Delivery.claimed_at <= cutoff)
        .values(status="unknown", reason="outcome_unknown")
        .returning(Delivery.campaign_id, Delivery.batch_no)
    ).all()
    session.commit()
    return {(row.campaign_id, row.batch_no) for row in rows}


def purpose_of(session: Session, campaign: Campaign) -> Purpose:
    """The campaign's purpose row."""
    purpose = session.get(Purpose, campaign.purpose_id)
    assert purpose is not None
    return purpose
