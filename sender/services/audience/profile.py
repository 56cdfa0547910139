"""Everything a contact page shows: consent per purpose and channel, the proof history, deliveries."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.db import utcnow
from sender.i18n import N_
from sender.models import Campaign, ConsentEvent, ConsentState, Contact, Delivery, Purpose, User
from sender.models.contacts import CHANNELS
from sender.services.audience.import_rows import MAX_ATTRIBUTE_VALUE
from sender.services.consent import ledger, purposes
from sender.services.consent.expiry import shown_status
from sender.services.errors import ValidationFailed

USER_PREFIX = "user:"
ATTRIBUTE_NAME = re.compile(r"[A-Za-z0-9_]{1,64}")


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
    # Who recorded each event, as the staff know them: "user:2" -> the user's email address.
    actors: dict[str, str]


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
    lines = [DeliveryLine(d, name) for d, name in rows]
    return Profile(
        contact, all_purposes, grid, history, lines, staff_names(session, [e.actor for e in events])
    )


def staff_names(session: Session, actors: list[str]) -> dict[str, str]:
    """The staff members behind `user:<id>` actors, by email; other actors (contact, import, cron) are not staff."""
    ids = {int(a.removeprefix(USER_PREFIX)) for a in actors if a.startswith(USER_PREFIX) and a[5:].isdigit()}
    if not ids:
        return {}
    rows = session.execute(select(User.id, User.email).where(User.id.in_(ids)))
    return {f"{USER_PREFIX}{user_id}": email for user_id, email in rows}


def format_attributes(attributes: dict[str, object]) -> str:
    """Attributes as the edit form shows them: one `name: value` per line, sorted."""
    return "\n".join(f"{name}: {value}" for name, value in sorted(attributes.items()))


def parse_attributes(text: str) -> dict[str, str]:
    """`name: value` lines back into attributes; a bad line is a ValidationFailed naming it."""
    attributes: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, sep, value = line.partition(":")
        name = name.strip()
        if not sep or not ATTRIBUTE_NAME.fullmatch(name):
            raise ValidationFailed(
                {
                    "attributes": N_(
                        "line %(number)s: write name: value, the name in letters, digits and _", number=number
                    )
                }
            )
        if len(value.strip()) > MAX_ATTRIBUTE_VALUE:
            raise ValidationFailed(
                {
                    "attributes": N_(
                        "line %(number)s: longer than %(n)d characters",
                        number=number,
                        n=MAX_ATTRIBUTE_VALUE,
                    )
                }
            )
        attributes[name] = value.strip()
    return attributes
