"""Deliveries compacted by age (DELIVERY_DETAIL_DAYS): old rows become per-campaign counts (delivery_counts).

A delivery older than the setting, in a final status, is deleted and counted in its campaign's row of
delivery_counts (by status, reason and A/B variant) in the same transaction, so a campaign's report keeps
its totals and an A/B test its messages per variant (lifecycle.reports_for adds them to the live rows'
tallies, which the delete itself decrements: tallies.py). The rows of contacts who ever withdrew a consent
(an opt-out, an objection, a complaint, an SMS STOP) stay, because the proof of honouring lists the messages
that left after a withdrawal (records/honouring.py); they only lose their provider fields (ids, answers,
claim tokens).

Each batch is one DELETE … RETURNING whose returned rows are what gets counted, then a commit: a run cut
short, or run twice, counts each row exactly once. Plain batched deletes (no partitions) were measured to
keep the table and its indexes flat on PostgreSQL once autovacuum reuses the freed pages
(bench/compaction.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Exists, delete, exists, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from sender.db import rowcount
from sender.enums import ConsentAction, DeliveryStatus
from sender.models import ConsentEvent, Delivery, DeliveryCount
from sender.models.campaigns import NO_VARIANT
from sender.services.campaigns import tallies

# Statuses a delivery never leaves: only these are compacted (a queued or deferred row still has work).
FINAL = (
    DeliveryStatus.SENT,
    DeliveryStatus.FAILED,
    DeliveryStatus.SKIPPED,
    DeliveryStatus.UNKNOWN,
    DeliveryStatus.CANCELLED,
    DeliveryStatus.BOUNCED,
)
BATCH = 5000


@dataclass
class Compacted:
    """What one compaction did: rows turned into counts, and kept rows stripped of their provider fields."""

    compacted: int = 0
    kept_stripped: int = 0
    tallies_folded: int = 0


def _withdrew() -> Exists:
    """SQL: the delivery's contact has a withdrawal in the ledger (its rows are proof of honouring)."""
    return exists().where(
        ConsentEvent.contact_id == Delivery.contact_id, ConsentEvent.action == ConsentAction.WITHDRAW
    )


def _add_counts(session: Session, counts: Counter[tuple[int, str, str, int]]) -> None:
    """Add to delivery_counts, one upsert for the batch."""
    rows = [
        {"campaign_id": c, "status": s, "reason": r, "variant": v, "count": n}
        for (c, s, r, v), n in sorted(counts.items())
    ]
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(DeliveryCount).values(rows)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=[
                DeliveryCount.campaign_id,
                DeliveryCount.status,
                DeliveryCount.reason,
                DeliveryCount.variant,
            ],
            set_={"count": DeliveryCount.count + stmt.excluded.count},
        )
    )


def compact(
    session: Session, days: int, at: datetime, commit: Callable[[], bool], batch: int = BATCH
) -> Compacted:
    """Compact deliveries older than `days` in batches; `commit` ends each batch and says whether to go on."""
    cutoff = at - timedelta(days=days)
    old = (Delivery.created_at < cutoff, Delivery.status.in_(FINAL))
    done = Compacted()
    while True:
        ids = select(Delivery.id).where(*old, ~_withdrew()).order_by(Delivery.id).limit(batch)
        rows = session.execute(
            delete(Delivery)
            .where(Delivery.id.in_(ids.scalar_subquery()), *old)
            .returning(Delivery.campaign_id, Delivery.status, Delivery.reason, Delivery.variant)
            .execution_options(synchronize_session=False)
        ).all()
        if rows:
            _add_counts(
                session,
                Counter(
                    (r.campaign_id, r.status, r.reason or "", NO_VARIANT if r.variant is None else r.variant)
                    for r in rows
                ),
            )
            done.compacted += len(rows)
        if len(rows) < batch:
            break
        if not commit():
            return done
    done.kept_stripped = rowcount(
        session.execute(
            update(Delivery)
            .where(
                *old,
                or_(
                    Delivery.provider_id.is_not(None),
                    Delivery.last_error.is_not(None),
                    Delivery.provider_status.is_not(None),
                    Delivery.claim_token.is_not(None),
                ),
            )
            .values(provider_id=None, last_error=None, provider_status=None, claim_token=None)
            .execution_options(synchronize_session=False)
        )
    )
    # The deletes above appended their tallies (the triggers); one row per key keeps the sums cheap to read.
    done.tallies_folded = tallies.fold(session)
    return done
