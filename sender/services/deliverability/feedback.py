"""Bounces and complaints, whichever door they came through: one service applies their effects, once.

- a hard bounce marks its delivery `bounced` and suppresses the address (keyed hash);
- a soft bounce is counted; SOFT_BOUNCE_LIMIT of them within 15 days, with no message accepted in between,
  suppress the address;
- a complaint withdraws every marketing consent on email in the ledger (source and mechanism `complaint`,
  the report's id as proof: the history, the Art. 15 report and the proof of honouring show it) and
  suppresses the address;
- a report naming an unknown delivery, an erased contact or an address not on file changes nothing;
- a report applied once is recognised by the keyed hash of its id, and a delivery takes each kind once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import Table, exists, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from sender import metrics, work
from sender.addresses import AddressError, address_hash, normalize_email
from sender.channels.email.render import sender_domain
from sender.config import Settings
from sender.db import utcnow
from sender.enums import (
    Channel,
    ConsentSource,
    ContactStatus,
    DeliveryStatus,
    FeedbackKind,
    SuppressionReason,
    WebhookEvent,
)
from sender.models import Campaign, Contact, Delivery, DeliveryFeedback, Suppression
from sender.services.consent import withdrawal
from sender.services.records import audit
from sender.services.webhooks import events

ACTOR = "bounces"
# Soft bounces count within this window (issue 18: 15 days without a success in between).
SOFT_BOUNCE_WINDOW = timedelta(days=15)
# Doors that read the same messages: a DSN forwarded to the SMTP door may also sit in the IMAP mailbox.
_FAMILY = {"imap": "mail", "smtp": "mail"}
# A hard bounce may follow a message the relay accepted, or one whose answer was lost.
_BOUNCEABLE = (DeliveryStatus.SENT, DeliveryStatus.UNKNOWN)
# Rows per statement: far below SQLite's bound-parameter limit.
_CHUNK = 500
_SUPPRESSION = {
    FeedbackKind.HARD_BOUNCE: SuppressionReason.HARD_BOUNCE,
    FeedbackKind.SOFT_BOUNCE: SuppressionReason.SOFT_BOUNCE,
    FeedbackKind.COMPLAINT: SuppressionReason.COMPLAINT,
}


class Outcome(StrEnum):
    """What applying a report did."""

    APPLIED = "applied"
    DUPLICATE = "duplicate"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Feedback:
    """One bounce or complaint report as a door read it: ids and a diagnostic code, never personal data."""

    kind: FeedbackKind
    # The provider's or the message's unique id: the same id twice is the same report.
    report_id: str
    # The door: "imap", "smtp", "ses", "sendgrid", "mailgun", "postmark", "brevo".
    source: str
    # From the VERP token, or a provider's message id or metadata.
    delivery_id: int | None
    # Only when the door gives an address and no delivery: matched by keyed hash, never stored.
    address: str | None = None
    # A short diagnostic code such as "5.1.1".
    detail: str = ""


def report_key(settings: Settings, source: str, report_id: str) -> str:
    """The keyed hash a report is recognised by: its door's family and its id."""
    return address_hash(settings.hash_key, f"{_FAMILY.get(source, source)}:{report_id}")


@dataclass(frozen=True)
class _Target:
    """What a report names, as read in one query for the whole batch."""

    delivery_id: int | None
    campaign_id: int | None
    contact_id: int
    contact_public_id: str
    email_hash: str | None


@dataclass(frozen=True)
class _Item:
    """A report of the batch whose target is known: its place in the batch, its key, its target."""

    index: int
    feedback: Feedback
    key: str
    target: _Target


def apply(session: Session, settings: Settings, feedback: Feedback) -> Outcome:
    """Apply one report's effects unless it was applied before; the caller commits (a batch of one)."""
    return apply_many(session, settings, [feedback])[0]


def apply_many(session: Session, settings: Settings, reports: Sequence[Feedback]) -> list[Outcome]:
    """Apply a batch of reports, each once, set-based; their outcomes in order. The caller commits.

    The end state is the one applying them one by one, in order, would give. `settings` carry the effective
    EMAIL_FROM (organisation.effective_settings or with_sending_address): it names the sending domain the
    reports are counted against.

    Every write is an INSERT .. ON CONFLICT or an UPDATE: a door racing on the same report waits on the
    unique index, then finds it recorded (a duplicate), so no savepoint is needed to recover from a race.
    """
    outcomes = [Outcome.UNKNOWN] * len(reports)
    targets = _targets(session, settings, reports)
    items = [
        _Item(n, report, report_key(settings, report.source, report.report_id), targets[n])
        for n, report in enumerate(reports)
        if n in targets
    ]
    if not items:
        return outcomes
    for item in items:
        outcomes[item.index] = Outcome.DUPLICATE
    now = utcnow()
    applied: Counter[FeedbackKind] = Counter()
    for round_ in _rounds(items):
        for item in _apply_round(session, settings, round_, now):
            outcomes[item.index] = Outcome.APPLIED
            applied[item.feedback.kind] += 1
    if applied:

        def _count() -> None:
            for kind, count in applied.items():
                for _ in range(count):
                    metrics.feedback_received("email", kind)

        work.after_commit(session, "feedback metrics", _count)
    return outcomes


def _rounds(items: list[_Item]) -> list[list[_Item]]:
    """Split a batch into rounds in which no two reports share a contact, an address, a key or a (delivery, kind).

    Reports that do share one are applied in their batch order, one round after the other, so each sees
    what the ones before it wrote, as one by one; a batch of distinct reports is one round.
    """
    last: dict[tuple[object, ...], int] = {}
    rounds: list[list[_Item]] = []
    for item in items:
        target = item.target
        claims: list[tuple[object, ...]] = [("contact", target.contact_id), ("key", item.key)]
        if target.email_hash:
            claims.append(("hash", target.email_hash))
        if target.delivery_id is not None:
            claims.append(("delivery", target.delivery_id, item.feedback.kind))
        number = max((last[c] + 1 for c in claims if c in last), default=0)
        for claim in claims:
            last[claim] = number
        if number == len(rounds):
            rounds.append([])
        rounds[number].append(item)
    return rounds


def _apply_round(session: Session, settings: Settings, items: list[_Item], now: datetime) -> list[_Item]:
    """Apply reports that share nothing; those recorded now (the others were applied before)."""
    domain = sender_domain(settings)[:255]
    recorded = _record(
        session,
        [
            {
                "delivery_id": item.target.delivery_id,
                "campaign_id": item.target.campaign_id,
                "contact_id": item.target.contact_id,
                "kind": item.feedback.kind.value,
                "source": item.feedback.source[:16],
                "report_key": item.key,
                "sending_domain": domain,
                "detail": item.feedback.detail[:32],
                "received_at": now,
            }
            # In key order, so two doors recording overlapping batches take the index's locks in one order.
            for item in sorted(items, key=lambda i: i.key)
        ],
    )
    # A report not recorded was applied before, or another one (another door, another id) already told its
    # delivery's fate of this kind.
    applied = [item for item in items if item.key in recorded]
    if not applied:
        return []
    of_kind = {kind: [i for i in applied if i.feedback.kind == kind] for kind in FeedbackKind}
    _bounce(session, of_kind[FeedbackKind.HARD_BOUNCE])
    complaints = of_kind[FeedbackKind.COMPLAINT]
    withdrawal.withdraw_channel_many(
        session,
        [
            withdrawal.ChannelWithdrawal(
                contact_id=i.target.contact_id,
                contact_public_id=i.target.contact_public_id,
                campaign_id=i.target.campaign_id,
                evidence={"report_id": i.feedback.report_id},
            )
            for i in complaints
        ],
        Channel.EMAIL,
        source=ConsentSource.COMPLAINT,
        mechanism="complaint",
    )
    soft = of_kind[FeedbackKind.SOFT_BOUNCE]
    counts = soft_bounce_counts(session, [i.target.contact_id for i in soft], now) if soft else {}
    limit = settings.deliverability.soft_bounce_limit
    suppressed = [
        *of_kind[FeedbackKind.HARD_BOUNCE],
        *complaints,
        *(i for i in soft if counts.get(i.target.contact_id, 0) >= limit),
    ]
    _suppress(session, [(i.target.email_hash, _SUPPRESSION[i.feedback.kind]) for i in suppressed])
    audit.record_many(
        session,
        [
            audit.Entry(
                ACTOR,
                f"deliverability.{item.feedback.kind}",
                "contact",
                item.target.contact_public_id,
                {"delivery_id": item.target.delivery_id, "source": item.feedback.source[:16]},
            )
            for item in applied
        ],
    )
    # One set-based emit per event type: the statements do not grow with the batch.
    complained = [item for item in applied if item.feedback.kind == FeedbackKind.COMPLAINT]
    bounced = [item for item in applied if item.feedback.kind != FeedbackKind.COMPLAINT]
    for webhook_event, items in (
        (WebhookEvent.DELIVERY_COMPLAINED, complained),
        (WebhookEvent.DELIVERY_BOUNCED, bounced),
    ):
        payloads: list[tuple[dict[str, events.PayloadValue], int | None]] = [
            (
                {
                    "contact": item.target.contact_public_id,
                    "delivery": item.target.delivery_id,
                    "campaign": item.target.campaign_id,
                    "kind": item.feedback.kind.value,
                },
                item.target.contact_id,
            )
            for item in items
        ]
        events.emit_many(session, webhook_event, payloads)
    return applied


def _dialect_module(session: Session) -> Any:
    return postgresql if session.get_bind().dialect.name == "postgresql" else sqlite


def _record(session: Session, rows: list[dict[str, Any]]) -> set[str]:
    """Insert the reports' rows unless their key or their (delivery, kind) is there already; the keys inserted.

    One executemany (SQLAlchemy batches it into multi-row INSERTs with RETURNING, compiled once), checked
    by the unique constraints, so two doors racing on one report queue on the index instead of failing.
    """
    table = cast(Table, DeliveryFeedback.__table__)
    stmt = _dialect_module(session).insert(table).on_conflict_do_nothing().returning(table.c.report_key)
    return set(session.scalars(stmt, rows))


def _targets(session: Session, settings: Settings, reports: Sequence[Feedback]) -> dict[int, _Target]:
    """The email delivery and the live contact each report names, by its place in the batch; two queries at most.

    A report naming an unknown delivery, a delivery of another channel, an erased contact or an address not
    on file is left out.
    """
    by_delivery = _by_delivery(session, {r.delivery_id for r in reports if r.delivery_id is not None})
    digests: dict[int, str] = {}
    for n, report in enumerate(reports):
        if report.delivery_id is None and report.address:
            try:
                normalised = normalize_email(report.address, "address")
            except AddressError:
                continue
            digests[n] = address_hash(settings.hash_key, normalised)
    by_hash = _by_address(session, set(digests.values()))
    found: dict[int, _Target] = {}
    for n, report in enumerate(reports):
        if report.delivery_id is not None:
            target = by_delivery.get(report.delivery_id)
        else:
            target = by_hash.get(digests.get(n, ""))
        if target is not None:
            found[n] = target
    return found


def _by_delivery(session: Session, delivery_ids: set[int]) -> dict[int, _Target]:
    """The email deliveries among these ids whose contact is not erased."""
    found: dict[int, _Target] = {}
    ordered = sorted(delivery_ids)
    for start in range(0, len(ordered), _CHUNK):
        rows = session.execute(
            select(Delivery.id, Delivery.campaign_id, Contact.id, Contact.public_id, Contact.email_hash)
            .join(Contact, Contact.id == Delivery.contact_id)
            .join(Campaign, Campaign.id == Delivery.campaign_id)
            .where(
                Delivery.id.in_(ordered[start : start + _CHUNK]),
                Campaign.channel == Channel.EMAIL,
                Contact.status != ContactStatus.ERASED,
            )
        )
        for delivery_id, campaign_id, contact_id, public_id, email_hash in rows:
            found[delivery_id] = _Target(delivery_id, campaign_id, contact_id, public_id, email_hash)
    return found


def _by_address(session: Session, digests: set[str]) -> dict[str, _Target]:
    """The contact on file (not erased) with each of these keyed address hashes; the oldest if several."""
    found: dict[str, _Target] = {}
    ordered = sorted(digests)
    for start in range(0, len(ordered), _CHUNK):
        rows = session.execute(
            select(Contact.id, Contact.public_id, Contact.email_hash)
            .where(
                Contact.email_hash.in_(ordered[start : start + _CHUNK]),
                Contact.status != ContactStatus.ERASED,
            )
            .order_by(Contact.id)
        )
        for contact_id, public_id, email_hash in rows:
            if email_hash is not None:
                found.setdefault(email_hash, _Target(None, None, contact_id, public_id, email_hash))
    return found


def _suppress(session: Session, entries: list[tuple[str | None, str]]) -> None:
    """Suppress these keyed hashes on email (one statement); an address already suppressed keeps its reason."""
    rows = [
        {"address_hash": digest, "channel": Channel.EMAIL.value, "reason": reason, "created_at": utcnow()}
        for digest, reason in entries
        if digest
    ]
    if not rows:
        return
    table = cast(Table, Suppression.__table__)
    session.execute(_dialect_module(session).insert(table).on_conflict_do_nothing(), rows)


def _bounce(session: Session, hard: list[_Item]) -> None:
    """Mark the hard-bounced deliveries `bounced` (those the relay accepted, or whose answer was lost)."""
    ids = [i.target.delivery_id for i in hard if i.target.delivery_id is not None]
    if ids:
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_(ids), Delivery.status.in_(_BOUNCEABLE))
            .values(status=DeliveryStatus.BOUNCED),
            execution_options={"synchronize_session": "fetch"},
        )


def soft_bounces_in_a_row(session: Session, contact_id: int, now: datetime) -> int:
    """Soft bounces of a contact within the window, since the last message accepted without any report."""
    return soft_bounce_counts(session, [contact_id], now).get(contact_id, 0)


def soft_bounce_counts(session: Session, contact_ids: Sequence[int], now: datetime) -> dict[int, int]:
    """soft_bounces_in_a_row for many contacts, in one query; contacts with none are left out."""
    reported = aliased(DeliveryFeedback)
    accepted = aliased(Delivery)
    last_success = (
        select(func.max(accepted.sent_at))
        .where(
            accepted.contact_id == DeliveryFeedback.contact_id,
            accepted.status == DeliveryStatus.SENT,
            ~exists().where(reported.delivery_id == accepted.id),
        )
        .scalar_subquery()
    )
    # A report naming only an address counts from when it arrived; one naming a delivery, from its sending.
    moment = func.coalesce(Delivery.sent_at, DeliveryFeedback.received_at)
    rows = session.execute(
        select(DeliveryFeedback.contact_id, func.count(DeliveryFeedback.id))
        .select_from(DeliveryFeedback)
        .outerjoin(Delivery, Delivery.id == DeliveryFeedback.delivery_id)
        .where(
            DeliveryFeedback.contact_id.in_(sorted(set(contact_ids))),
            DeliveryFeedback.kind == FeedbackKind.SOFT_BOUNCE,
            DeliveryFeedback.received_at >= now - SOFT_BOUNCE_WINDOW,
            or_(last_success.is_(None), moment > last_success),
        )
        .group_by(DeliveryFeedback.contact_id)
    )
    return {int(contact_id or 0): int(count) for contact_id, count in rows}
