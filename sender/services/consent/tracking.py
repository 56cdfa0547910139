"""Tracking consent (R54, R55): consent to be measured in messages, a purpose of its own per channel.

It is a purpose of kind `tracking`, granted and withdrawn through the ledger like any consent (preference
centre, API, imports with proof), and read through the same gate. No other consent depends on it: the
gate of a marketing purpose never looks at it, so refusing tracking never stops a newsletter.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.channels.base import get_channel
from sender.enums import PurposeKind
from sender.models import Contact, Purpose
from sender.services.consent import gate


def purpose(session: Session) -> Purpose | None:
    """The organisation's tracking purpose (the first of kind `tracking`), or None when it has none."""
    return session.scalar(
        select(Purpose).where(Purpose.kind == PurposeKind.TRACKING).order_by(Purpose.id).limit(1)
    )


def consenting(session: Session, channel: str, contact_ids: Collection[int], at: datetime) -> frozenset[int]:
    """Those of these contacts whom the gate lets be tracked on this channel now."""
    tracking = purpose(session)
    if tracking is None or not contact_ids:
        return frozenset()
    stmt, reason = gate.gated_audience(tracking.id, get_channel(channel), at)
    rows = session.execute(stmt.where(Contact.id.in_(list(contact_ids)), reason.is_(None)))
    return frozenset(row.id for row in rows)


def allows(session: Session, contact_id: int, channel: str, at: datetime) -> bool:
    """Whether one contact may be tracked on this channel now."""
    return contact_id in consenting(session, channel, [contact_id], at)
