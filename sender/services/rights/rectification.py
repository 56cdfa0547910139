"""Rectification (GDPR Art. 16, R42): the person corrects their data; pending messages use the new values.

Deliveries are rendered from the contact row when a worker claims them, so a correction committed before
the claim is what the message carries. Art. 19: the recipients of the data are recorded as notified.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.config import Settings
from sender.i18n import LOCALES
from sender.models import Contact, Purpose
from sender.services.audience import contacts
from sender.services.errors import Conflict, ValidationFailed
from sender.services.records import audit

# What a person may correct themselves; anything else goes through a request to the DPO.
FIELDS = ("first_name", "last_name", "email", "phone", "locale")


def rectify(
    session: Session, settings: Settings, contact: Contact, data: Mapping[str, Any], actor: str
) -> list[str]:
    """Apply the corrections that differ from what we hold; returns the names of the changed fields."""
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise ValidationFailed({name: "cannot be changed here" for name in unknown})
    changes: dict[str, Any] = {}
    for name, raw in data.items():
        value = raw.strip() if isinstance(raw, str) else raw
        value = value or None
        if name in ("email", "phone") and value is None and getattr(contact, name):
            raise ValidationFailed({name: "cannot be emptied here; ask for erasure instead"})
        if name == "locale" and value is not None and value not in LOCALES:
            raise ValidationFailed({"locale": f"must be one of {', '.join(LOCALES)}"})
        if value != getattr(contact, name):
            changes[name] = value
    if not changes:
        return []
    try:
        contacts.update(session, settings, contact, changes, actor)
    except Conflict:
        # Taken by someone else, or suppressed: saying which would tell the person about another address.
        field = "email" if "email" in changes else "phone"
        raise ValidationFailed(
            {field: "this address cannot be used here; write to us to change it"}
        ) from None
    recipients = sorted({p for row in session.scalars(select(Purpose.processors)) for p in row or []})
    audit.record(
        session,
        actor,
        "rights.rectification_notified",
        "contact",
        contact.public_id,
        {"fields": sorted(changes), "recipients": recipients},
    )
    return sorted(changes)
