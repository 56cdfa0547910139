"""The cron side of requalification: ask those due once per cycle, close the cycle at its deadline (R48, R49).

`run()` is safe every minute or once a day. A lease (services/records/cron_lock.py) keeps two runs apart;
each step is committed as it is done, so a crashed run resumes on the next one:

- who is due for a purpose: a legacy contact without a grant for it, a grant past its validity, or a grant
  whose retention clock (the person's last interaction, else collection) ran past the purpose's retention;
  and who may be asked (the gate's "may be asked" rule); and who was not asked in this cycle yet;
- each chunk of new asks, their delivery rows and their batch jobs is one step (the jobs leave after its
  commit); the worker re-checks the same rule when it claims, and sends over the channel-neutral send path;
- at the deadline, unsent deliveries are cancelled and every silent ask is closed: the contact is erased
  (keyed-hash suppression kept) or archived as restricted, per REQUALIFICATION_SILENCE.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import exists, func, insert, select, update
from sqlalchemy.orm import Session

from sender import work
from sender.channels.base import get_channel
from sender.db import rowcount, utcnow
from sender.enums import AskStatus, CampaignStatus, ContactStatus, DeliveryReason, DeliveryStatus
from sender.models import (
    Campaign,
    Contact,
    Delivery,
    Purpose,
    Requalification,
    RequalificationAsk,
)
from sender.runtime import Runtime
from sender.services.campaigns import delivery, launch, lifecycle, requalify, states
from sender.services.consent import gate
from sender.services.records import audit, cron_lock
from sender.services.rights.erasure import erase, scrub_redis
from sender.work.jobs import SendBatch

LOCK = "requalify"
# The audit action of a finished run: the dashboard reads the last one to spot a cron that never comes.
RUN_ACTION = "requalify.run"
CHUNK = 1_000
CLOSE_CHUNK = 200
ACTIVE = (CampaignStatus.SENDING, CampaignStatus.SENT, CampaignStatus.PAUSED)
# Delivery outcomes after which the person may have read the question: their silence is an answer.
REACHED = (DeliveryStatus.SENT, DeliveryStatus.UNKNOWN)


@dataclass
class RunReport:
    """What one run did, per kind of step (written to the audit log and printed)."""

    locked: bool = False
    cycles: int = 0
    asked: int = 0
    batches: int = 0
    cancelled: int = 0
    closed: dict[str, int] = field(default_factory=dict)

    def counts(self) -> dict[str, object]:
        """The figures as a flat mapping."""
        return {
            "cycles": self.cycles,
            "asked": self.asked,
            "batches": self.batches,
            "cancelled": self.cancelled,
            **{f"closed_{k}": v for k, v in sorted(self.closed.items())},
        }


def due_ids(session: Session, campaign: Campaign, purpose: Purpose, at: datetime, limit: int) -> list[int]:
    """The next contacts due and askable for this cycle's purpose, not yet asked in it, by id."""
    state = gate.state_alias()
    channel = get_channel(campaign.channel)
    reason = gate.ask_reason_expression(state, channel)
    asked = exists().where(
        RequalificationAsk.campaign_id == campaign.id, RequalificationAsk.contact_id == Contact.id
    )
    stmt = (
        select(Contact.id)
        .select_from(Contact)
        .outerjoin(state, gate.state_join(state, purpose.id, channel))
        .where(requalify.due_condition(state, purpose, at), reason.is_(None), ~asked)
        .order_by(Contact.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def plan_chunk(session: Session, batch_size: int, campaign: Campaign, at: datetime) -> tuple[int, range]:
    """Ask the next chunk of due contacts: asks, queued deliveries and their batch jobs; (asked, batches).

    The caller commits; the jobs leave after it."""
    purpose = session.get(Purpose, campaign.purpose_id)
    assert purpose is not None
    ids = due_ids(session, campaign, purpose, at, CHUNK)
    if not ids:
        return 0, range(0)
    last = session.scalar(select(func.max(Delivery.batch_no)).where(Delivery.campaign_id == campaign.id))
    first = 0 if last is None or last < 0 else last + 1
    session.execute(
        insert(RequalificationAsk),
        [
            {
                "campaign_id": campaign.id,
                "contact_id": cid,
                "purpose_id": purpose.id,
                "status": AskStatus.ASKED,
                "asked_at": at,
            }
            for cid in ids
        ],
    )
    session.execute(
        insert(Delivery),
        [
            {
                "campaign_id": campaign.id,
                "contact_id": cid,
                "batch_no": first + i // batch_size,
                "status": DeliveryStatus.QUEUED,
                "attempts": 0,
                "created_at": at,
            }
            for i, cid in enumerate(ids)
        ],
    )
    # A cycle whose earlier asks were all sent is open again for the newly due.
    states.advance(session, campaign.id, states.REOPEN, finished_at=None)
    session.execute(update(Campaign).where(Campaign.id == campaign.id).values(planned_at=None))
    batches = range(first, first + (len(ids) - 1) // batch_size + 1)
    for batch_no in batches:
        work.enqueue(session, SendBatch(campaign.id, batch_no, campaign.channel))
    return len(ids), batches


def ask_due(
    runtime: Runtime,
    session: Session,
    lease: cron_lock.Lease,
    campaign: Campaign,
    at: datetime,
    report: RunReport,
) -> None:
    """Ask everyone due in this cycle, one step per chunk (jobs sent after its commit); resume unsent batches."""
    while True:
        asked, batches = plan_chunk(session, runtime.settings.send_batch_size, campaign, at)
        work.commit(session, "ask chunk")
        if not asked:
            break
        report.asked += asked
        report.batches += len(batches)
        if not lease.renew(at):
            return
    session.refresh(campaign)
    pending = (
        lifecycle.pending_batches(session, campaign.id) if campaign.status == CampaignStatus.SENDING else []
    )
    session.execute(
        update(Campaign)
        .where(Campaign.id == campaign.id, Campaign.planned_at.is_(None))
        .values(planned_at=at)
    )
    delivery.finish_if_done(session, campaign.id)
    work.commit(session, "asked")
    # After a crash between a commit and its jobs, queued batches may have no job: ask for those again.
    report.batches += launch.requeue(session, campaign.id, campaign.channel, pending)


def _close_one(
    runtime: Runtime,
    session: Session,
    ask: RequalificationAsk,
    channel: str,
    at: datetime,
    needles: list[str],
) -> str:
    """Close one silent ask: erased, archived, or excluded when the question never reached a person who may be asked."""
    contact = session.get(Contact, ask.contact_id)
    outcome = session.scalar(
        select(Delivery.status).where(
            Delivery.campaign_id == ask.campaign_id, Delivery.contact_id == ask.contact_id
        )
    )
    reason = gate.check(session, ask.contact_id, ask.purpose_id, channel, at, rule="ask").reason
    if contact is None or reason is not None or outcome not in REACHED:
        return AskStatus.EXCLUDED
    if runtime.settings.requalification_silence == "archive":
        # Restricted: kept for the organisation's legal needs, reached by no campaign (both gate rules refuse).
        contact.status = ContactStatus.RESTRICTED
        audit.record(
            session,
            "requalification",
            "contact.archive",
            "contact",
            contact.public_id,
            {"campaign": ask.campaign_id},
        )
        return AskStatus.ARCHIVED
    needles.extend(personal_values(contact))
    erase(session, runtime.settings, contact, actor="requalification", notify=False)
    return AskStatus.ERASED


def personal_values(contact: Contact) -> list[str]:
    """The values Redis job records may quote (provider answers), to scrub once per chunk of erasures."""
    return [v for v in (contact.email, contact.phone, contact.first_name, contact.last_name) if v]


def close(
    runtime: Runtime,
    session: Session,
    lease: cron_lock.Lease,
    campaign: Campaign,
    cycle: Requalification,
    at: datetime,
    report: RunReport,
) -> None:
    """Past the deadline: cancel what was not sent, close every silent ask, then the cycle."""
    report.cancelled += rowcount(
        session.execute(
            update(Delivery)
            .where(Delivery.campaign_id == campaign.id, Delivery.status == DeliveryStatus.QUEUED)
            .values(status=DeliveryStatus.CANCELLED, reason=DeliveryReason.DEADLINE_PASSED)
        )
    )
    work.commit(session, "cancel unsent")
    while True:
        ids = list(
            session.scalars(
                select(RequalificationAsk.id)
                .where(
                    RequalificationAsk.campaign_id == campaign.id,
                    RequalificationAsk.status == AskStatus.ASKED,
                )
                .order_by(RequalificationAsk.id)
                .limit(CLOSE_CHUNK)
            )
        )
        if not ids:
            break
        needles: list[str] = []
        for ask_id in ids:
            # Locked, so an answer arriving now either lands first (and is kept) or waits and finds it closed.
            ask = session.get(RequalificationAsk, ask_id, with_for_update=True, populate_existing=True)
            if ask is None or ask.status != AskStatus.ASKED:
                continue
            ask.status = _close_one(runtime, session, ask, campaign.channel, at, needles)
            ask.answered_at = at
            report.closed[ask.status] = report.closed.get(ask.status, 0) + 1
            # One step per person: a crash leaves each ask either closed with its effect, or open.
            work.commit(session, "close ask")
        # One pass over the job records for the whole chunk: a scan per person would not scale.
        scrub_redis(runtime.redis, needles)
        if not lease.renew(at):
            return
    cycle.closed_at = at
    states.advance(
        session, campaign.id, states.CLOSE, finished_at=at, planned_at=func.coalesce(Campaign.planned_at, at)
    )
    audit.record(
        session,
        "requalification",
        "requalification.close",
        "campaign",
        campaign.id,
        requalify_funnel(session, campaign.id),
    )
    work.commit(session, "close cycle")


def requalify_funnel(session: Session, campaign_id: int) -> dict[str, int]:
    """The cycle's asks by status."""
    rows = session.execute(
        select(RequalificationAsk.status, func.count())
        .where(RequalificationAsk.campaign_id == campaign_id)
        .group_by(RequalificationAsk.status)
    ).all()
    return {status: count for status, count in rows}


def run(runtime: Runtime, now: datetime | None = None) -> RunReport:
    """One cron run: close the cycles past their deadline, ask the due in the open ones; counts to the audit log."""
    at = now or utcnow()
    report = RunReport()
    with work.unit(runtime.Session, "requalify run") as session:
        lease = cron_lock.acquire(session, LOCK, now=at)
        if lease is None:
            report.locked = True
            return report
        try:
            rows = session.execute(
                select(Campaign, Requalification)
                .join(Requalification, Requalification.campaign_id == Campaign.id)
                .where(Campaign.status.in_(ACTIVE), Requalification.closed_at.is_(None))
                .order_by(Campaign.id)
            ).all()
            for campaign, cycle in rows:
                report.cycles += 1
                if cycle.deadline <= at:
                    close(runtime, session, lease, campaign, cycle, at, report)
                elif campaign.status != CampaignStatus.PAUSED:
                    ask_due(runtime, session, lease, campaign, at, report)
            audit.record(session, "cron", RUN_ACTION, "cron", LOCK, report.counts())
            work.commit(session, "requalify run")
        finally:
            lease.release()
    return report
