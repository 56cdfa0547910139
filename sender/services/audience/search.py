"""Staff search over contacts: by email (whole, its start or its domain), phone, name or tag, in keyset pages,
on indexed columns only (a btree on the address and one on its domain: no scan for a part in the middle)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select
from sqlalchemy.orm import Session

from sender.addresses import AddressError, is_possible_phone, normalize_email, normalize_phone
from sender.config import Settings
from sender.models import Contact, ContactTag
from sender.models.contacts import email_domain

KINDS = ("auto", "email", "phone", "name", "tag")


@dataclass(frozen=True)
class Results:
    """One page of contacts (newest first) and the id to continue after, if more follow."""

    items: list[Contact]
    next_before: int | None


def guess_kind(query: str, region: str) -> str:
    """A search entry's likely kind: a #tag, an email, a phone number (national in `region`) or a name."""
    if query.startswith("#"):
        return "tag"
    if "@" in query:
        return "email"
    if is_possible_phone(query, region):
        return "phone"
    return "name"


def _prefix_range(value: Any, prefix: str) -> ColumnElement[bool]:
    # value >= 'abc' AND value < 'abd': a plain btree index serves it on both backends (LIKE would not).
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return and_(value >= prefix, value < upper)


def _domain(query: str) -> ColumnElement[bool]:
    """Contacts whose email domain starts with the query: '@example.org', 'example.org', '@exam'."""
    return _prefix_range(email_domain(Contact.email), query.lstrip("@").lower())


def _filter(stmt: Select[Any], settings: Settings, query: str, kind: str, auto: bool = False) -> Select[Any]:
    if kind == "tag":
        tag = query.lstrip("#").strip().lower()
        return stmt.where(Contact.id.in_(select(ContactTag.contact_id).where(ContactTag.tag == tag)))
    if kind == "email":
        if query.startswith("@"):
            return stmt.where(_domain(query))
        try:
            return stmt.where(Contact.email == normalize_email(query))
        except AddressError:
            # An incomplete address: a prefix of the normalised (lower-case) column.
            return stmt.where(_prefix_range(Contact.email, query.lower()))
    if kind == "phone":
        try:
            return stmt.where(Contact.phone == normalize_phone(query, settings.default_phone_region))
        except AddressError:
            return stmt.where(Contact.id.is_(None))
    words = query.lower().split()
    if auto and len(words) == 1:
        # One word may be a name, the start of an email address ("jeanne.d") or its domain ("example.org").
        word = words[0]
        return stmt.where(
            or_(
                _prefix_range(func.lower(Contact.first_name), word),
                _prefix_range(func.lower(Contact.last_name), word),
                _prefix_range(Contact.email, word),
                _domain(word) if "." in word else false(),
            )
        )
    for word in words:
        stmt = stmt.where(
            or_(
                _prefix_range(func.lower(Contact.first_name), word),
                _prefix_range(func.lower(Contact.last_name), word),
            )
        )
    return stmt


def matching(
    settings: Settings, query: str = "", *, kind: str = "auto", status: str | None = None
) -> Select[Any]:
    """The ids of every contact a search finds (for bulk actions such as adding them to a list)."""
    return _where(select(Contact.id), settings, query.strip(), kind, status)


def _where(stmt: Select[Any], settings: Settings, query: str, kind: str, status: str | None) -> Select[Any]:
    if status:
        stmt = stmt.where(Contact.status == status)
    if query:
        auto = kind == "auto"
        stmt = _filter(
            stmt, settings, query, guess_kind(query, settings.default_phone_region) if auto else kind, auto
        )
    return stmt


def search(
    session: Session,
    settings: Settings,
    query: str = "",
    *,
    kind: str = "auto",
    status: str | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> Results:
    """Contacts matching the query, newest first, `limit` at a time after `before_id`."""
    stmt = select(Contact).order_by(Contact.id.desc()).limit(limit + 1)
    if before_id is not None:
        stmt = stmt.where(Contact.id < before_id)
    rows = list(session.scalars(_where(stmt, settings, query.strip(), kind, status)))
    more = len(rows) > limit
    items = rows[:limit]
    return Results(items, items[-1].id if more and items else None)


def tags_of(session: Session, contact_id: int) -> list[str]:
    """A contact's tags, sorted."""
    return list(
        session.scalars(
            select(ContactTag.tag).where(ContactTag.contact_id == contact_id).order_by(ContactTag.tag)
        )
    )


def set_tags(session: Session, contact: Contact, tags: list[str]) -> None:
    """Replace a contact's tags (lower-case, trimmed, at most 64 characters each); the caller commits."""
    wanted = {t.strip().lower()[:64] for t in tags if t.strip()}
    current = set(tags_of(session, contact.id))
    for tag in current - wanted:
        session.delete(session.get(ContactTag, (contact.id, tag)))
    for tag in wanted - current:
        session.add(ContactTag(contact_id=contact.id, tag=tag))
    session.flush()
