"""Proof of honouring (R77) and proof of consent (R2): what a person said, and what left after it.

Every withdrawal in the ledger (an opt-out, an objection, a complaint, an SMS STOP) is listed with its
channel and time, and with the marketing messages of its purpose and channel that left after it, until
consent was given again. A message claimed for sending before the withdrawal, with consent re-checked
then, was already with the relay at that instant: it is named in flight. One claimed after it is an
exception. Requalification requests count as marketing here: asking again after a "no" is direct
marketing in its own right (R50). Legal notices (Art. 34) do not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session, aliased

from sender.enums import (
    AfterWithdrawal,
    CampaignKind,
    ConsentAction,
    ConsentSource,
    DeliveryStatus,
    WithdrawalKind,
)
from sender.models import Campaign, ConsentEvent, ConsentWording, Contact, Delivery, Purpose
from sender.services.records import audit

MARKETING_KINDS = (CampaignKind.MARKETING, CampaignKind.REQUALIFICATION, CampaignKind.SEQUENCE)
# A message left once the relay had it: sent, or handed over with its answer lost (never resent).
LEFT = (DeliveryStatus.SENT, DeliveryStatus.UNKNOWN)
# The moment a message left: when the relay accepted it, or when it was claimed if its answer was lost.
_LEFT_AT = func.coalesce(Delivery.sent_at, Delivery.claimed_at)


def kind_of(event: ConsentEvent) -> WithdrawalKind:
    """How the person said no, read from the event's source and mechanism."""
    if event.source == ConsentSource.SMS_KEYWORD:
        return WithdrawalKind.STOP
    if event.mechanism == WithdrawalKind.OBJECTION:
        return WithdrawalKind.OBJECTION
    if event.mechanism == WithdrawalKind.COMPLAINT:
        return WithdrawalKind.COMPLAINT
    return WithdrawalKind.OPT_OUT


@dataclass(frozen=True)
class MessageAfter:
    """A marketing message that left after a withdrawal."""

    delivery_id: int
    campaign_id: int
    contact: str
    claimed_at: datetime | None
    left_at: datetime
    verdict: AfterWithdrawal


@dataclass(frozen=True)
class Withdrawal:
    """One withdrawal and the marketing messages of its purpose and channel that left after it."""

    event_id: int
    kind: WithdrawalKind
    purpose: str
    channel: str
    occurred_at: datetime
    source: str
    messages_after: list[MessageAfter] = field(default_factory=list)

    @property
    def exceptions(self) -> list[MessageAfter]:
        """The messages after it that should not have left."""
        return [m for m in self.messages_after if m.verdict == AfterWithdrawal.EXCEPTION]


def _after_withdrawals(session: Session, *where: Any) -> list[Any]:
    """Rows (withdrawal, delivery, campaign, contact) of marketing messages that left after a withdrawal of
    their purpose and channel, with no grant in between."""
    regrant = aliased(ConsentEvent)
    stmt = (
        select(
            ConsentEvent.id.label("event_id"),
            Delivery.id.label("delivery_id"),
            Delivery.campaign_id,
            Contact.public_id,
            Delivery.claimed_at,
            _LEFT_AT.label("left_at"),
            ConsentEvent.occurred_at.label("withdrawn_at"),
        )
        .join(Delivery, Delivery.contact_id == ConsentEvent.contact_id)
        .join(
            Campaign,
            and_(
                Campaign.id == Delivery.campaign_id,
                Campaign.purpose_id == ConsentEvent.purpose_id,
                Campaign.channel == ConsentEvent.channel,
            ),
        )
        .join(Contact, Contact.id == ConsentEvent.contact_id)
        .where(
            ConsentEvent.action == ConsentAction.WITHDRAW,
            Campaign.kind.in_(MARKETING_KINDS),
            Delivery.status.in_(LEFT),
            ConsentEvent.occurred_at < _LEFT_AT,
            # Consent given again before the message left ends the withdrawal's window.
            ~exists().where(
                regrant.contact_id == ConsentEvent.contact_id,
                regrant.purpose_id == ConsentEvent.purpose_id,
                regrant.channel == ConsentEvent.channel,
                regrant.action == ConsentAction.GRANT,
                regrant.occurred_at > ConsentEvent.occurred_at,
                regrant.occurred_at <= _LEFT_AT,
            ),
            *where,
        )
        .order_by(ConsentEvent.occurred_at, ConsentEvent.id, Delivery.id)
    )
    return list(session.execute(stmt))


def _message(row: Any) -> MessageAfter:
    in_flight = row.claimed_at is not None and row.claimed_at <= row.withdrawn_at
    return MessageAfter(
        delivery_id=row.delivery_id,
        campaign_id=row.campaign_id,
        contact=row.public_id,
        claimed_at=row.claimed_at,
        left_at=row.left_at,
        verdict=AfterWithdrawal.IN_FLIGHT if in_flight else AfterWithdrawal.EXCEPTION,
    )


def for_contact(session: Session, contact: Contact) -> list[Withdrawal]:
    """Every withdrawal of one person, oldest first, each with the marketing messages that left after it."""
    events = session.execute(
        select(ConsentEvent, Purpose.slug)
        .join(Purpose, Purpose.id == ConsentEvent.purpose_id)
        .where(ConsentEvent.contact_id == contact.id, ConsentEvent.action == ConsentAction.WITHDRAW)
        .order_by(ConsentEvent.occurred_at, ConsentEvent.id)
    ).all()
    after: dict[int, list[MessageAfter]] = {}
    for row in _after_withdrawals(session, ConsentEvent.contact_id == contact.id):
        after.setdefault(row.event_id, []).append(_message(row))
    return [
        Withdrawal(
            event_id=event.id,
            kind=kind_of(event),
            purpose=slug,
            channel=event.channel,
            occurred_at=event.occurred_at,
            source=event.source,
            messages_after=after.get(event.id, []),
        )
        for event, slug in events
    ]


@dataclass(frozen=True)
class Period:
    """The organisation's record over a period: withdrawals, and marketing sent after them."""

    since: datetime
    until: datetime
    withdrawals: int
    in_flight: int
    exceptions: list[MessageAfter]


def for_period(session: Session, since: datetime, until: datetime) -> Period:
    """Withdrawals made in [since, until) and the marketing messages that left after them, exceptions listed."""
    in_period = (ConsentEvent.occurred_at >= since, ConsentEvent.occurred_at < until)
    withdrawals = session.scalar(
        select(func.count()).where(ConsentEvent.action == ConsentAction.WITHDRAW, *in_period)
    )
    messages = [_message(row) for row in _after_withdrawals(session, *in_period)]
    return Period(
        since=since,
        until=until,
        withdrawals=withdrawals or 0,
        in_flight=sum(1 for m in messages if m.verdict == AfterWithdrawal.IN_FLIGHT),
        exceptions=[m for m in messages if m.verdict == AfterWithdrawal.EXCEPTION],
    )


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() + "Z" if moment is not None else None


def message_json(message: MessageAfter) -> dict[str, Any]:
    """A message after a withdrawal, as the exports write it."""
    return {
        "delivery_id": message.delivery_id,
        "campaign_id": message.campaign_id,
        "contact": message.contact,
        "claimed_at": _iso(message.claimed_at),
        "left_at": _iso(message.left_at),
        "verdict": message.verdict.value,
    }


def contact_report(session: Session, contact: Contact, actor: str, fmt: str) -> dict[str, Any]:
    """The proof of honouring of one person (JSON form); the export is audited (ids only)."""
    audit.record(session, actor, "honouring.export", "contact", contact.public_id, {"format": fmt})
    withdrawals = for_contact(session, contact)
    return {
        "contact": contact.public_id,
        "withdrawals": [
            {
                "kind": w.kind.value,
                "purpose": w.purpose,
                "channel": w.channel,
                "occurred_at": _iso(w.occurred_at),
                "source": w.source,
                "marketing_after": [message_json(m) for m in w.messages_after],
            }
            for w in withdrawals
        ],
        "exceptions": sum(len(w.exceptions) for w in withdrawals),
    }


def period_report(session: Session, since: datetime, until: datetime, actor: str, fmt: str) -> dict[str, Any]:
    """The organisation's proof of honouring over a period (JSON form); the export is audited."""
    audit.record(
        session, actor, "honouring.export", "organisation", "all", {"format": fmt, "since": _iso(since)}
    )
    period = for_period(session, since, until)
    return {
        "since": _iso(period.since),
        "until": _iso(period.until),
        "withdrawals": period.withdrawals,
        "marketing_after_withdrawal": len(period.exceptions),
        "in_flight": period.in_flight,
        "exceptions": [message_json(m) for m in period.exceptions],
    }


def consent_proof(session: Session, contact: Contact, actor: str, fmt: str) -> dict[str, Any]:
    """Every R2 field of every consent event of one person, with the wording exactly as shown (audited)."""
    audit.record(session, actor, "consent.proof_export", "contact", contact.public_id, {"format": fmt})
    rows = session.execute(
        select(ConsentEvent, Purpose.slug, ConsentWording)
        .join(Purpose, Purpose.id == ConsentEvent.purpose_id)
        .outerjoin(ConsentWording, ConsentWording.id == ConsentEvent.wording_id)
        .where(ConsentEvent.contact_id == contact.id)
        .order_by(ConsentEvent.occurred_at, ConsentEvent.id)
    )
    return {
        "contact": contact.public_id,
        "events": [
            {
                "purpose": slug,
                "channel": event.channel,
                "action": event.action,
                "occurred_at": _iso(event.occurred_at),
                "collection_point": event.collection_point,
                "wording_version": wording.version if wording else None,
                "wording_text": wording.text if wording else None,
                "privacy_notice_version": wording.privacy_notice_version if wording else None,
                "mechanism": event.mechanism,
                "source": event.source,
                "double_opt_in_confirmation": event.source == ConsentSource.DOUBLE_OPT_IN,
                "actor": event.actor,
                "expires_at": _iso(event.expires_at),
                "evidence": dict(event.evidence or {}),
            }
            for event, slug, wording in rows
        ],
    }
