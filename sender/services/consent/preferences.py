"""The preference centre of the privacy portal: per purpose and channel, what the person agreed to, and when.

Only channels the person has an address for are shown. Purposes resting on another legal basis are shown
with that basis and the right to object, never as "no agreement". A grant made here is proof like any
other: mechanism "button", source "portal", the wording version displayed; it waits for the confirmation
link where the purpose requires double opt-in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sender.channels.base import channels
from sender.db import utcnow
from sender.enums import ConsentAction, ConsentSource, ConsentStatus
from sender.i18n import N_
from sender.models import ConsentEvent, ConsentState, ConsentWording, Contact, Purpose, Suppression
from sender.services.consent import ledger
from sender.services.consent.expiry import shown_status
from sender.services.consent.withdrawal import actor, withdraw
from sender.services.errors import ValidationFailed
from sender.services.records import audit

OBJECTION = "objection"


@dataclass(frozen=True)
class Choice:
    """One (purpose, channel) cell: state, since when, and the wording the person agreed to."""

    channel: str
    state: str  # granted / pending / withdrawn / expired / none
    since: datetime | None
    wording: ConsentWording | None

    @property
    def can_withdraw(self) -> bool:
        """Whether there is something to withdraw (or object to)."""
        return self.state in (ConsentStatus.GRANTED, ConsentStatus.PENDING)


@dataclass(frozen=True)
class PurposeRow:
    """A purpose of the register, its current wording (offered for a grant) and one Choice per channel."""

    purpose: Purpose
    current_wording: ConsentWording | None
    choices: list[Choice]

    @property
    def consent_based(self) -> bool:
        """Whether the person's agreement is the legal basis (else: the right to object applies)."""
        return self.purpose.legal_basis == "consent"


def channels_of(contact: Contact) -> list[str]:
    """The channels the person has an address for."""
    return [channel.name for channel in channels() if channel.address.of(contact)]


def _label(state: ConsentState | None, at: datetime) -> str:
    if state is None:
        return "none"
    return shown_status(state.status, state.expires_at, at)


def latest_wordings(session: Session) -> dict[int, ConsentWording]:
    """The newest wording of every purpose, keyed by purpose id."""
    newest = (
        select(ConsentWording.purpose_id, func.max(ConsentWording.version).label("v"))
        .group_by(ConsentWording.purpose_id)
        .subquery()
    )
    rows = session.scalars(
        select(ConsentWording).join(
            newest,
            (newest.c.purpose_id == ConsentWording.purpose_id) & (newest.c.v == ConsentWording.version),
        )
    )
    return {w.purpose_id: w for w in rows}


def rows(session: Session, contact: Contact, at: datetime | None = None) -> list[PurposeRow]:
    """The preference centre of one person."""
    now = at or utcnow()
    states = {(s.purpose_id, s.channel): s for s in ledger.current_states(session, contact.id)}
    events = {
        e.id: e for e in session.scalars(select(ConsentEvent).where(ConsentEvent.contact_id == contact.id))
    }
    wording_ids = {e.wording_id for e in events.values() if e.wording_id is not None}
    wordings = (
        {w.id: w for w in session.scalars(select(ConsentWording).where(ConsentWording.id.in_(wording_ids)))}
        if wording_ids
        else {}
    )
    latest = latest_wordings(session)
    result = []
    for purpose in session.scalars(select(Purpose).order_by(Purpose.name, Purpose.id)):
        choices = []
        for channel in channels_of(contact):
            state = states.get((purpose.id, channel))
            event = events.get(state.last_event_id) if state is not None else None
            wording = wordings.get(event.wording_id) if event is not None and event.wording_id else None
            choices.append(Choice(channel, _label(state, now), state.since if state else None, wording))
        result.append(PurposeRow(purpose, latest.get(purpose.id), choices))
    return result


def _hashes(contact: Contact) -> list[str]:
    """The keyed hashes of the person's addresses, each once (channels may share an address)."""
    return [h for h in dict.fromkeys(channel.address.hash_of(contact) for channel in channels()) if h]


def objected(session: Session, contact: Contact) -> bool:
    """Whether the person objected to all direct marketing (Art. 21(2)) and has not lifted it."""
    hashes = _hashes(contact)
    return bool(hashes) and (
        session.scalar(
            select(Suppression.id).where(
                Suppression.address_hash.in_(hashes), Suppression.reason == OBJECTION
            )
        )
        is not None
    )


def lift_objection(session: Session, contact: Contact) -> int:
    """The person lifts their own objection: the suppression goes, consent stays withdrawn until given again."""
    hashes = _hashes(contact)
    found = list(
        session.scalars(
            select(Suppression).where(Suppression.address_hash.in_(hashes), Suppression.reason == OBJECTION)
        )
    )
    for row in found:
        session.delete(row)
    session.flush()
    audit.record(session, actor(contact), "consent.objection_lift", "contact", contact.public_id)
    return len(found)


def _resolve(session: Session, contact: Contact, purpose_id: Any, channel: Any) -> tuple[Purpose, str]:
    purpose = session.get(Purpose, purpose_id) if isinstance(purpose_id, int) else None
    errors = {}
    if purpose is None:
        errors["purpose"] = N_("unknown purpose")
    if channel not in channels_of(contact):
        errors["channel"] = N_(
            "must be a channel we hold an address for: %(choices)s", choices=", ".join(channels_of(contact))
        )
    if errors or purpose is None:
        raise ValidationFailed(errors)
    return purpose, str(channel)


def grant(
    session: Session,
    contact: Contact,
    purpose_id: Any,
    channel: Any,
    wording_version: Any,
    evidence: dict[str, Any] | None = None,
) -> ConsentEvent:
    """Give consent again from the portal, with the wording version shown; pending where DOI is required."""
    purpose, channel = _resolve(session, contact, purpose_id, channel)
    if purpose.legal_basis != "consent":
        raise ValidationFailed(
            {
                "purpose": N_(
                    "this purpose rests on %(legal_basis)s, not on consent", legal_basis=purpose.legal_basis
                )
            }
        )
    if isinstance(wording_version, bool) or not isinstance(wording_version, int):
        raise ValidationFailed({"wording_version": N_("is required: the version of the wording shown")})
    if objected(session, contact):
        raise ValidationFailed({"objection": N_("lift your objection to all marketing first")})
    event = ledger.record(
        session,
        contact,
        purpose,
        channel=channel,
        action=ConsentAction.GRANT,
        source=ConsentSource.PORTAL,
        mechanism="button",
        actor=actor(contact),
        wording_version=wording_version,
        collection_point="portal",
        evidence=evidence,
    )
    audit.record(
        session,
        actor(contact),
        f"consent.{event.action}",
        "contact",
        contact.public_id,
        {"purpose_id": purpose.id, "channel": channel, "source": ConsentSource.PORTAL},
    )
    return event


def withdraw_one(
    session: Session, contact: Contact, purpose_id: Any, channel: Any, evidence: dict[str, Any] | None = None
) -> bool:
    """Withdraw consent (or object, for another legal basis) for one purpose on one channel."""
    purpose, channel = _resolve(session, contact, purpose_id, channel)
    mechanism = "form" if purpose.legal_basis == "consent" else OBJECTION
    return withdraw(
        session,
        contact,
        purpose,
        channel,
        source=ConsentSource.PORTAL,
        mechanism=mechanism,
        evidence=evidence,
    )
