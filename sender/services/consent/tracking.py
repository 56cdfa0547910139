"""Tracking consent (R54, R55): consent to be measured in messages, a purpose of its own per channel.

It is a purpose of kind `tracking`, granted and withdrawn through the ledger like any consent (preference
centre, API, imports with proof), and read through the same gate. No other consent depends on it: the
gate of a marketing purpose never looks at it, so refusing tracking never stops a newsletter.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, literal, select
from sqlalchemy.orm import Session

from sender.channels.base import channels, get_channel
from sender.enums import PurposeKind, SkipReason
from sender.models import ConsentState, Contact, Purpose
from sender.services.consent import gate

# The organisation's tracking purpose is the first of kind `tracking`: the one rule, for a row or in SQL.
_FIRST = select(Purpose).where(Purpose.kind == PurposeKind.TRACKING).order_by(Purpose.id).limit(1)


def purpose(session: Session) -> Purpose | None:
    """The organisation's tracking purpose (the first of kind `tracking`), or None when it has none."""
    return session.scalar(_FIRST)


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


def reason_on_channel(
    state: type[ConsentState], channel_column: Any, at: Any
) -> tuple[ColumnElement[bool], ColumnElement[str | None]]:
    """The gate's answer for tracking, in SQL, on the channel a column names (a campaign's, say).

    Returns the ON clause joining `state` (an alias of consent_states, outer-joined to contacts) to the
    contact's state for the tracking purpose on that channel, and the gate's reason: NULL when the contact
    may be tracked, else why not (no tracking purpose at all: no consent). A statement can thus read a
    link, its delivery and whether the person may be tracked in one round trip; the rule is the gate's own
    expression for each channel.
    """
    purpose_id = _FIRST.with_only_columns(Purpose.id).scalar_subquery()
    join = and_(
        state.contact_id == Contact.id, state.purpose_id == purpose_id, state.channel == channel_column
    )
    reason = case(
        *(
            (channel_column == channel.name, gate.reason_expression(state, channel, at))
            for channel in channels()
        ),
        else_=literal(SkipReason.NO_CONSENT.value),
    )
    return join, reason
