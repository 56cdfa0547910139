"""Finding contacts: keyset pages in id order, exact search by normalised address, list membership."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.config import Settings
from sender.models import Contact, ListMember
from sender.services.audience.contacts import normalise_addresses
from sender.services.errors import ValidationFailed


@dataclass(frozen=True)
class Page:
    """One page of contacts and whether more follow the last one."""

    items: list[Contact]
    has_more: bool


def contacts_page(
    session: Session,
    settings: Settings,
    *,
    after_id: int | None,
    limit: int,
    email: str | None = None,
    phone: str | None = None,
    list_id: int | None = None,
) -> Page:
    """Contacts with id > after_id, oldest first; a search address is normalised exactly as on create."""
    stmt = select(Contact).order_by(Contact.id).limit(limit + 1)
    if after_id is not None:
        stmt = stmt.where(Contact.id > after_id)
    if email is not None or phone is not None:
        blank = {name: "must not be empty" for name, v in (("email", email), ("phone", phone)) if v == ""}
        if blank:
            raise ValidationFailed(blank)
        wanted = normalise_addresses(settings, {"email": email, "phone": phone}).values
        if email is not None:
            stmt = stmt.where(Contact.email == wanted["email"])
        if phone is not None:
            stmt = stmt.where(Contact.phone == wanted["phone"])
    if list_id is not None:
        stmt = stmt.where(Contact.id.in_(select(ListMember.contact_id).where(ListMember.list_id == list_id)))
    rows = list(session.scalars(stmt))
    return Page(rows[:limit], len(rows) > limit)
