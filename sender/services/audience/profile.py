"""Everything a contact page shows: consent per purpose and channel, the proof history, deliveries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.db import utcnow
from sender.models import Campaign, ConsentEvent, ConsentState, Contact, Delivery, Purpose
from sender.models.contacts import CHANNELS
from sender.services.consent import ledger, purposes
from sender.services.consent.expiry import shown_status


@dataclass(frozen=True)
class Cell:
    """The state of one (purpose, channel): granted, pending, withdrawn, expired or none."""

    status: str
    since: datetime | None
    expires_at: datetime | None


@dataclass(frozen=True)
class Proof:
    """One ledger event with the wording text exactly as shown."""

    event: ConsentEvent
    purpose: Purpose
    wording_version: int | None
    wording_text: str | None


@dataclass(frozen=True)
class DeliveryLine:
    """One delivery of one campaign to this contact."""

    delivery: Delivery
    campaign_name: str


@dataclass(frozen=True)
class Profile:
    """The contact page."""

    contact: Contact
    purposes: list[Purpose]
    grid: dict[tuple[int, str], Cell]
    history: list[Proof]
    deliveries: list[DeliveryLine]


def _cell(state: ConsentState | None, now: datetime) -> Cell:
    if state is None:
        return Cell("none", None, None)
    return Cell(shown_status(state.status, state.expires_at, now), state.since, state.expires_at)


def build(session: Session, contact: Contact, deliveries_limit: int = 50) -> Profile:
    """Gather the contact page in a handful of indexed queries."""
    now = utcnow()
    all_purposes = purposes.all_purposes(session)
    states = {(s.purpose_id, s.channel): s for s in ledger.current_states(session, contact.id)}
    grid = {(p.id, ch): _cell(states.get((p.id, ch)), now) for p in all_purposes for ch in map(str, CHANNELS)}
    events = ledger.history(session, contact.id)
    by_id = {p.id: p for p in all_purposes}
    wordings = purposes.wordings_by_ids(session, [e.wording_id for e in events])
    history = [
        Proof(
            e,
            by_id[e.purpose_id],
            wordings[e.wording_id].version if e.wording_id in wordings else None,
            wordings[e.wording_id].text if e.wording_id in wordings else None,
        )
        for e in reversed(events)
    ]
    rows = session.execute(
        select(Delivery, Campaign.name)
        .join(Campaign, Campaign.id == Delivery.campaign_id)
        .where(Delivery.contact_id == contact.id)
        .order_by(Delivery.id.desc())
        .limit(deliveries_limit)
    ).all()
    return Profile(contact, all_purposes, grid, history, [DeliveryLine(d, name) for d, name in rows])
