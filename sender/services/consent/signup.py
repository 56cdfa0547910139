"""Unconfirmed double opt-in sign-ups (R53): deleted once SIGNUP_TTL_DAYS have passed without confirmation.

The privacy-portal branch's module of the same name adds the sign-up itself and its confirmation; this
function is the same there, and `sender retention run` calls it.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from sender.config import Settings
from sender.db import rowcount, utcnow
from sender.models import Contact
from sender.services.records import audit


def purge_unconfirmed(session: Session, settings: Settings) -> int:
    """Delete sign-ups never confirmed within SIGNUP_TTL_DAYS (with their requests); the caller commits."""
    cutoff = utcnow() - timedelta(days=settings.signup_ttl_days)
    ids = list(
        session.scalars(select(Contact.id).where(Contact.status == "pending", Contact.created_at < cutoff))
    )
    if not ids:
        return 0
    # The database cascades to the consent requests and states of these contacts.
    deleted = rowcount(session.execute(delete(Contact).where(Contact.id.in_(ids))))
    audit.record(session, "system", "signup.purge", "contact", "-", {"count": deleted})
    return deleted
