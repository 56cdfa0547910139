"""Changing a consent wording version that nobody has seen yet; one in use is evidence and stays as written.

The ORM refuses every update or delete of a wording (models/consent.py); fixing a typo in a version no
consent event names is done here with one conditional statement, so a consent recorded concurrently
against that version wins: the statement then changes nothing and the caller gets a Conflict.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, delete, exists, select, update
from sqlalchemy.orm import Session

from sender.db import rowcount
from sender.i18n import N_
from sender.models import ConsentEvent, ConsentWording
from sender.services.errors import Conflict, NotFound, ValidationFailed
from sender.services.records import audit

IN_USE = N_("this wording version is in use by recorded consents; add a new version instead")


def _unused() -> ColumnElement[bool]:
    return ~exists().where(ConsentEvent.wording_id == ConsentWording.id)


def get(session: Session, wording_id: int) -> ConsentWording:
    """The wording with this id, or NotFound."""
    wording = session.get(ConsentWording, wording_id)
    if wording is None:
        raise NotFound(N_("no such wording"))
    return wording


def in_use(session: Session, wording_ids: list[int]) -> set[int]:
    """Which of these wordings some consent event names."""
    if not wording_ids:
        return set()
    return set(
        session.scalars(
            select(ConsentEvent.wording_id).where(ConsentEvent.wording_id.in_(wording_ids)).distinct()
        )
    )


def edit(session: Session, wording: ConsentWording, text: str, actor: str) -> None:
    """Replace the text of an unused version; the caller commits."""
    if not text.strip():
        raise ValidationFailed({"text": N_("is required")})
    changed = session.execute(
        update(ConsentWording)
        .where(ConsentWording.id == wording.id, _unused())
        .values(text=text.strip())
        .execution_options(synchronize_session=False)
    )
    if rowcount(changed) != 1:
        raise Conflict(IN_USE)
    session.expire(wording)
    audit.record(session, actor, "wording.edit", "wording", wording.id, {})


def remove(session: Session, wording: ConsentWording, actor: str) -> None:
    """Delete an unused version (only the latest, so versions stay without gaps); the caller commits."""
    latest = session.scalar(
        select(ConsentWording.version)
        .where(ConsentWording.purpose_id == wording.purpose_id)
        .order_by(ConsentWording.version.desc())
        .limit(1)
    )
    if wording.version != latest:
        raise Conflict(N_("only the latest wording version can be deleted"))
    wording_id = wording.id
    session.expunge(wording)
    removed = session.execute(
        delete(ConsentWording)
        .where(ConsentWording.id == wording_id, _unused())
        .execution_options(synchronize_session=False)
    )
    if rowcount(removed) != 1:
        raise Conflict(IN_USE)
    audit.record(session, actor, "wording.delete", "wording", wording_id, {})
