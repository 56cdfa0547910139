"""Answers to a requalification message: confirm grants (R49), decline withdraws, nothing else changes.

Only a positive and explicit act counts: the confirm page's GET shows the question and changes nothing
(mail scanners follow links); the button POSTs. A confirmation records a grant with source
`requalification`, the cycle's wording version, and evidence naming the delivery that carried the question.
After the deadline, or once the contact is erased, the page says so and offers to sign up again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.db import utcnow
from sender.enums import AskStatus, ConsentAction, ConsentSource, ContactStatus
from sender.models import (
    Campaign,
    ConsentWording,
    Contact,
    Delivery,
    Purpose,
    Requalification,
    RequalificationAsk,
)
from sender.services.consent import ledger
from sender.services.consent.requalify_links import read
from sender.services.records import audit
from sender.tokens import TokenInvalid, TokenService

CLOSED = (AskStatus.ERASED, AskStatus.ARCHIVED, AskStatus.EXCLUDED)
ANSWERED = (AskStatus.CONFIRMED, AskStatus.DECLINED)


class AnswerLinkInvalid(Exception):
    """The link is tampered, of the wrong kind, or names no question we asked."""


@dataclass(frozen=True)
class Question:
    """The question a link leads to, and where it stands: open, answered, or expired."""

    state: str  # open / expired / gone
    answer: str | None  # confirmed / declined once answered
    purpose_name: str
    purpose_description: str
    wording_text: str
    wording_version: int
    deadline: datetime


@dataclass(frozen=True)
class _Found:
    contact: Contact | None
    ask: RequalificationAsk
    cycle: Requalification
    purpose: Purpose


def _find(session: Session, tokens: TokenService, answer: str, token: str, lock: bool) -> _Found:
    try:
        link = read(tokens, answer, token)
    except TokenInvalid:
        raise AnswerLinkInvalid() from None
    contact = session.scalar(select(Contact).where(Contact.public_id == link.contact_public_id))
    stmt = select(RequalificationAsk).where(
        RequalificationAsk.campaign_id == link.campaign_id,
        RequalificationAsk.purpose_id == link.purpose_id,
        RequalificationAsk.contact_id == (contact.id if contact else -1),
    )
    ask = session.scalar(stmt.with_for_update() if lock else stmt)
    cycle = session.get(Requalification, link.campaign_id)
    purpose = session.get(Purpose, link.purpose_id)
    if ask is None or cycle is None or purpose is None:
        raise AnswerLinkInvalid()
    return _Found(contact, ask, cycle, purpose)


def _question(session: Session, found: _Found, now: datetime) -> Question:
    wording = session.scalar(
        select(ConsentWording.text).where(
            ConsentWording.purpose_id == found.purpose.id,
            ConsentWording.version == found.cycle.wording_version,
        )
    )
    if found.contact is None or found.contact.status == ContactStatus.ERASED:
        state = "gone"
    elif found.ask.status in CLOSED or found.cycle.deadline <= now or found.cycle.closed_at is not None:
        state = "expired"
    else:
        state = "open"
    return Question(
        state,
        found.ask.status if found.ask.status in ANSWERED else None,
        found.purpose.name,
        found.purpose.description,
        wording or "",
        found.cycle.wording_version,
        found.cycle.deadline,
    )


def look(
    session: Session, tokens: TokenService, answer: str, token: str, now: datetime | None = None
) -> Question:
    """The question behind a confirm or decline link; reads only."""
    return _question(session, _find(session, tokens, answer, token, lock=False), now or utcnow())


def respond(
    session: Session, tokens: TokenService, answer: str, token: str, now: datetime | None = None
) -> Question:
    """Record the person's answer (confirm: a grant; decline: a withdrawal) while the cycle is open; the caller commits."""
    now = now or utcnow()
    found = _find(session, tokens, answer, token, lock=True)
    question = _question(session, found, now)
    if question.state != "open" or found.contact is None:
        return question
    contact, ask, purpose = found.contact, found.ask, found.purpose
    campaign = session.get(Campaign, ask.campaign_id)
    assert campaign is not None
    delivery_id = session.scalar(
        select(Delivery.id).where(Delivery.campaign_id == campaign.id, Delivery.contact_id == contact.id)
    )
    if answer == "confirm":
        # The link was mailed to the address: using it is a closed-loop confirmation.
        action = ConsentAction.GRANT
        mechanism = "double_opt_in" if purpose.requires_double_opt_in else "button"
    else:
        action, mechanism = ConsentAction.WITHDRAW, "link"
    ledger.record(
        session,
        contact,
        purpose,
        channel=campaign.channel,
        action=action,
        source=ConsentSource.REQUALIFICATION,
        mechanism=mechanism,
        actor=f"contact:{contact.public_id}",
        wording_version=found.cycle.wording_version,
        collection_point=f"requalification campaign {campaign.id}",
        # The proof links the answer to the message that asked (R49).
        evidence={"form_id": f"campaign:{campaign.id}/delivery:{delivery_id}"},
        at=now,
    )
    ask.status = AskStatus.CONFIRMED if answer == "confirm" else AskStatus.DECLINED
    ask.answered_at = now
    session.flush()
    audit.record(
        session, f"contact:{contact.public_id}", f"requalification.{ask.status}", "campaign", campaign.id
    )
    return _question(session, found, now)
