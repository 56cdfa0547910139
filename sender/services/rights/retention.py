"""The retention run (R48, R51, R53): what each purpose's retention no longer justifies goes.

- A contact whose retention clock (last interaction from the person, else collection) is older than the
  retention of every purpose it has a consent record for (or of the longest one, when it has none) is
  erased, keeping the keyed-hash suppression, or archived as restricted (REQUALIFICATION_SILENCE). A
  contact with a question still open in a requalification cycle waits for the cycle's deadline.
- Unconfirmed double opt-in sign-ups past SIGNUP_TTL_DAYS are deleted.
- Uploaded import files left uncommitted for IMPORT_FILE_DAYS are deleted (committed ones go at commit).
- Delivery logs older than DELIVERY_LOG_DAYS lose their provider answers (which can quote an address);
  the rows stay, so campaign counts do not change.
- Deliveries older than DELIVERY_DETAIL_DAYS become per-campaign counts, except those the proof of honouring
  needs (services/campaigns/compaction.py), in batches of one commit each.

Safe to run at any frequency: one run at a time (a lease), one named step (one commit) per contact, then
one for the purges and the report.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, exists, false, func, or_, select, update
from sqlalchemy.orm import Session

from sender import work
from sender.db import rowcount, utcnow
from sender.enums import AskStatus, ContactStatus
from sender.models import (
    Campaign,
    ConsentState,
    Contact,
    Delivery,
    Purpose,
    Requalification,
    RequalificationAsk,
)
from sender.runtime import Runtime
from sender.services.audience import import_files
from sender.services.campaigns import compaction
from sender.services.campaigns.requalify_cycle import ACTIVE, personal_values
from sender.services.consent.signup import purge_unconfirmed
from sender.services.engagement import retention as engagement_retention
from sender.services.records import audit, cron_lock
from sender.services.rights.erasure import erase, scrub_redis
from sender.services.webhooks import events as webhook_events

LOCK = "retention"
CHUNK = 200
DEFAULT_RETENTION_DAYS = 1095


@dataclass
class RetentionReport:
    """What one retention run did."""

    locked: bool = False
    erased: int = 0
    archived: int = 0
    signups_purged: int = 0
    delivery_logs_aged: int = 0
    deliveries_compacted: int = 0
    deliveries_kept_stripped: int = 0
    import_files_deleted: int = 0
    tracking_events_folded: int = 0
    tracking_events_rolled_up: int = 0
    webhook_events_purged: int = 0

    def counts(self) -> dict[str, int]:
        """The figures as a flat mapping."""
        return {
            "erased": self.erased,
            "archived": self.archived,
            "signups_purged": self.signups_purged,
            "delivery_logs_aged": self.delivery_logs_aged,
            "deliveries_compacted": self.deliveries_compacted,
            "deliveries_kept_stripped": self.deliveries_kept_stripped,
            "webhook_events_purged": self.webhook_events_purged,
            "import_files_deleted": self.import_files_deleted,
            "tracking_events_folded": self.tracking_events_folded,
            "tracking_events_rolled_up": self.tracking_events_rolled_up,
        }


def _kept(purposes: list[Purpose], at: datetime) -> ColumnElement[bool]:
    """SQL: some purpose the contact has a consent record for still justifies keeping it."""
    clock = func.coalesce(Contact.last_interaction_at, Contact.created_at)
    within = [
        and_(ConsentState.purpose_id == p.id, clock > at - timedelta(days=p.retention_days)) for p in purposes
    ]
    return exists().where(ConsentState.contact_id == Contact.id, or_(false(), *within))


def expired_ids(session: Session, at: datetime, limit: int) -> list[int]:
    """Active contacts past every retention that applies to them and with no question waiting."""
    purposes = list(session.scalars(select(Purpose)))
    longest = max((p.retention_days for p in purposes), default=DEFAULT_RETENTION_DAYS)
    clock = func.coalesce(Contact.last_interaction_at, Contact.created_at)
    has_state = exists().where(ConsentState.contact_id == Contact.id)
    waiting = exists().where(
        RequalificationAsk.contact_id == Contact.id,
        RequalificationAsk.status == AskStatus.ASKED,
        # Only a cycle that will close (not a cancelled one) keeps its question open.
        RequalificationAsk.campaign_id.in_(
            select(Requalification.campaign_id)
            .join(Campaign, Campaign.id == Requalification.campaign_id)
            .where(Requalification.closed_at.is_(None), Campaign.status.in_(ACTIVE))
        ),
    )
    stmt = (
        select(Contact.id)
        .where(
            Contact.status == ContactStatus.ACTIVE,
            or_(
                and_(has_state, ~_kept(purposes, at)), and_(~has_state, clock <= at - timedelta(days=longest))
            ),
            ~waiting,
        )
        .order_by(Contact.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def age_delivery_logs(session: Session, days: int, at: datetime) -> int:
    """Drop provider answers and claim tokens from deliveries older than `days`; the caller commits."""
    return rowcount(
        session.execute(
            update(Delivery)
            .where(
                Delivery.created_at < at - timedelta(days=days),
                or_(
                    Delivery.last_error.is_not(None),
                    Delivery.provider_id.is_not(None),
                    Delivery.claim_token.is_not(None),
                ),
            )
            .values(last_error=None, provider_id=None, claim_token=None)
        )
    )


def run(runtime: Runtime, now: datetime | None = None) -> RetentionReport:
    """One retention run; its counts go to the audit log."""
    at = now or utcnow()
    report = RetentionReport()
    settings = runtime.settings
    with work.unit(runtime.Session, "retention run") as session:
        lease = cron_lock.acquire(session, LOCK, now=at)
        if lease is None:
            report.locked = True
            return report
        try:
            while ids := expired_ids(session, at, CHUNK):
                needles: list[str] = []
                for contact_id in ids:
                    contact = session.get(Contact, contact_id, with_for_update=True, populate_existing=True)
                    if contact is None or contact.status != ContactStatus.ACTIVE:
                        continue
                    if settings.requalification_silence == "archive":
                        contact.status = ContactStatus.RESTRICTED
                        audit.record(session, "retention", "contact.archive", "contact", contact.public_id)
                        report.archived += 1
                    else:
                        needles.extend(personal_values(contact))
                        erase(session, settings, contact, actor="retention", notify=False)
                        report.erased += 1
                    work.commit(session, "retention: one contact")
                scrub_redis(runtime.redis, needles)
                if not lease.renew(at):
                    break
            report.signups_purged = purge_unconfirmed(session, settings)
            report.delivery_logs_aged = age_delivery_logs(session, settings.delivery_log_days, at)
            report.import_files_deleted = import_files.purge_stale(session, settings.import_file_days, at)
            report.webhook_events_purged = webhook_events.purge(session, settings.delivery_log_days, at)

            def compacted_batch() -> bool:
                work.commit(session, "retention: compact deliveries")
                return lease.renew(at)

            compacted = compaction.compact(session, settings.delivery_detail_days, at, compacted_batch)
            report.deliveries_compacted = compacted.compacted
            report.deliveries_kept_stripped = compacted.kept_stripped

            def folded_day() -> bool:
                work.commit(session, "retention: fold tracking events")
                return lease.renew(at)

            report.tracking_events_folded = engagement_retention.fold(
                session, settings.tracking_retention_days, at, folded_day
            )

            def rolled_up_day() -> bool:
                work.commit(session, "retention: roll up tracking events")
                return lease.renew(at)

            report.tracking_events_rolled_up = engagement_retention.rollup(session, at, rolled_up_day)
            audit.record(session, "cron", "retention.run", "cron", LOCK, dict(report.counts()))
            work.commit(session, "retention: purges and report")
        finally:
            lease.release()
    return report
