"""How many people of a campaign's audience lack a contact field its templates use: one count per field."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from sender.channels.base import get_channel
from sender.db import utcnow
from sender.models import Campaign, Contact
from sender.services.campaigns import planning
from sender.services.messages.fields import used_fields


@dataclass(frozen=True)
class FieldGap:
    """A field the templates use, how many of the people the campaign would reach lack it, and its fallback."""

    name: str
    missing: int
    fallback: bool


def _value(name: str) -> ColumnElement[str | None]:
    """The field as text: a contact column, or a key of the attributes JSON (NULL when absent)."""
    if name.startswith("attributes."):
        return Contact.attributes[name.removeprefix("attributes.")].as_string()
    column: ColumnElement[str | None] = getattr(Contact, name)
    return column


def gaps(session: Session, campaign: Campaign) -> list[FieldGap]:
    """The fields used by the campaign's templates that are missing or empty for some of its eligible audience.

    One COUNT per field over the audience as the launch would plan it (consent checked), never a loop
    over contacts.
    """
    used = used_fields((campaign.subject or "", campaign.body_html or "", campaign.body_text or ""))
    if not used:
        return []
    stmt, reason = planning.audience(
        session, campaign, get_channel(campaign.channel), [lst.id for lst in campaign.lists], utcnow()
    )
    eligible = stmt.where(reason.is_(None)).subquery()
    found = []
    for field in used:
        value = _value(field.name)
        missing = session.scalar(
            select(func.count())
            .select_from(Contact)
            .where(Contact.id.in_(select(eligible.c.id)), or_(value.is_(None), func.trim(value) == ""))
        )
        if missing:
            found.append(FieldGap(field.name, missing, field.fallback))
    return found
