"""Withdrawal through public links (no login): the signed token is the authority (R26-R31, R38).

Everything is written in the caller's transaction, which commits before answering: never via Redis.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.enums import (
    ConsentAction,
    ConsentSource,
    ConsentStatus,
    ContactStatus,
    SuppressionReason,
)
from sender.models import ConsentState, Contact, Purpose
from sender.services.audience.contacts import suppress_addresses
from sender.services.consent import ledger
from sender.services.consent.links import read_unsubscribe
from sender.services.records import audit
from sender.tokens import TokenInvalid, TokenService


class LinkInvalid(Exception):
    """Any link we will not act on: tampered, wrong kind, unknown contact or purpose, erased contact.

    Callers answer every case the same way, so a link cannot reveal whether someone is on file.
    """


@dataclass(frozen=True)
class UnsubscribeTarget:
    """The (contact, purpose, channel) an unsubscribe link withdraws, and the campaign it came from."""

    contact: Contact
    purpose: Purpose
    channel: str
    campaign_id: int | None


def _contact(session: Session, public_id: str) -> Contact:
    contact = session.scalar(select(Contact).where(Contact.public_id == public_id))
    if contact is None or contact.status == ContactStatus.ERASED:
        raise LinkInvalid()
    return contact


def resolve_unsubscribe(session: Session, tokens: TokenService, token: str) -> UnsubscribeTarget:
    """What an unsubscribe token names; raise LinkInvalid for anything we would not act on."""
    try:
        link = read_unsubscribe(tokens, token)
    except TokenInvalid:
        raise LinkInvalid() from None
    purpose = session.get(Purpose, link.purpose_id)
    if purpose is None:
        raise LinkInvalid()
    return UnsubscribeTarget(
        _contact(session, link.contact_public_id), purpose, link.channel, link.campaign_id
    )


def actor(contact: Contact) -> str:
    """How the ledger and the audit trail name a person acting on their own link."""
    return f"contact:{contact.public_id}"


def withdraw(
    session: Session,
    contact: Contact,
    purpose: Purpose,
    channel: str,
    *,
    source: str,
    mechanism: str,
    campaign_id: int | None = None,
    evidence: dict[str, Any] | None = None,
) -> bool:
    """Withdraw one (purpose, channel) unless it already is; True when a withdrawal was written."""
    # Locking the state row makes a second, concurrent click wait and then see the withdrawal.
    state = session.get(
        ConsentState, (contact.id, purpose.id, channel), with_for_update=True, populate_existing=True
    )
    if state is not None and state.status == ConsentStatus.WITHDRAWN:
        return False
    ledger.record(
        session,
        contact,
        purpose,
        channel=channel,
        action=ConsentAction.WITHDRAW,
        source=source,
        mechanism=mechanism,
        actor=actor(contact),
        collection_point=f"campaign:{campaign_id}" if campaign_id is not None else None,
        evidence=evidence,
    )
    audit.record(
        session,
        actor(contact),
        "consent.withdraw",
        "contact",
        contact.public_id,
        {"purpose_id": purpose.id, "channel": channel, "source": source},
    )
    return True


@dataclass(frozen=True)
class ChannelWithdrawal:
    """One contact of `withdraw_channel_many`: every consent of theirs on the channel, with the proof."""

    contact_id: int
    contact_public_id: str
    campaign_id: int | None = None
    evidence: dict[str, Any] | None = None


def withdraw_channel_many(
    session: Session, requests: Sequence[ChannelWithdrawal], channel: str, *, source: str, mechanism: str
) -> int:
    """withdraw() of every consent on `channel` not withdrawn yet, for many contacts at once; events written.

    Set-based: the state rows are locked in one statement, the ledger takes its events in bulk
    (ledger.record_withdrawals), and their audit events go in one batched insert.
    """
    if not requests:
        return 0
    by_contact = {r.contact_id: r for r in requests}
    # Locking the state rows makes a concurrent click wait, then this finds its withdrawal and skips it.
    pending = session.execute(
        select(ConsentState.contact_id, ConsentState.purpose_id)
        .where(
            ConsentState.contact_id.in_(by_contact),
            ConsentState.channel == channel,
            ConsentState.status != ConsentStatus.WITHDRAWN,
        )
        .order_by(ConsentState.contact_id, ConsentState.purpose_id)
        .with_for_update()
    ).all()
    withdrawals = []
    for contact_id, purpose_id in pending:
        request = by_contact[contact_id]
        campaign = request.campaign_id
        withdrawals.append(
            ledger.Withdrawal(
                contact_id=contact_id,
                purpose_id=purpose_id,
                actor=f"contact:{request.contact_public_id}",
                collection_point=f"campaign:{campaign}" if campaign is not None else None,
                evidence=request.evidence,
            )
        )
    written = ledger.record_withdrawals(
        session, withdrawals, channel=channel, source=source, mechanism=mechanism
    )
    audit.record_many(
        session,
        [
            audit.Entry(
                w.actor,
                "consent.withdraw",
                "contact",
                by_contact[w.contact_id].contact_public_id,
                {"purpose_id": w.purpose_id, "channel": channel, "source": source},
            )
            for w in withdrawals
        ],
    )
    return len(written)


def one_click(session: Session, target: UnsubscribeTarget, evidence: dict[str, Any] | None = None) -> bool:
    """RFC 8058 one-click POST: withdraw the list the message came from, and nothing else (R29, R32)."""
    return withdraw(
        session,
        target.contact,
        target.purpose,
        target.channel,
        source=ConsentSource.ONE_CLICK,
        mechanism="one_click",
        campaign_id=target.campaign_id,
        evidence=evidence,
    )


def page_unsubscribe(
    session: Session, target: UnsubscribeTarget, evidence: dict[str, Any] | None = None
) -> bool:
    """The confirmation page's button: same withdrawal, recorded as coming from the page."""
    return withdraw(
        session,
        target.contact,
        target.purpose,
        target.channel,
        source=ConsentSource.UNSUBSCRIBE_PAGE,
        mechanism="link",
        campaign_id=target.campaign_id,
        evidence=evidence,
    )


def stop_all(
    session: Session, contact: Contact, *, source: str, evidence: dict[str, Any] | None = None
) -> int:
    """Art. 21 objection to all direct marketing: every purpose, every channel, kept as a suppression."""
    events = ledger.withdraw_everywhere(
        session, contact, source=source, mechanism="objection", actor=actor(contact), evidence=evidence
    )
    # The objection outlives the contact (R11, R45): its keyed hashes go on the suppression list.
    suppress_addresses(session, contact, SuppressionReason.OBJECTION)
    audit.record(
        session, actor(contact), "consent.objection", "contact", contact.public_id, {"source": source}
    )
    return len(events)
