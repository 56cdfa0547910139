"""Contacts, lists and the suppression list."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.functions import FunctionElement

from sender.db import Base, utcnow
from sender.enums import Channel, ContactStatus, one_of

CONTACT_STATUSES = tuple(ContactStatus)
CHANNELS = tuple(Channel)


class email_domain(FunctionElement[str]):
    """SQL: the part of an email address after its @, written the way each backend can index it."""

    type = String()
    name = "email_domain"
    inherit_cache = True


@compiles(email_domain)
def _email_domain_sqlite(element: email_domain, compiler: Any, **kw: Any) -> str:
    (column,) = list(element.clauses)
    text = compiler.process(column, **kw)
    return f"substr({text}, instr({text}, '@') + 1)"


@compiles(email_domain, "postgresql")
def _email_domain_postgresql(element: email_domain, compiler: Any, **kw: Any) -> str:
    (column,) = list(element.clauses)
    return f"split_part({compiler.process(column, **kw)}, '@', 2)"


def new_public_id() -> str:
    """Opaque random identifier safe to show in URLs and tokens (no personal data)."""
    return secrets.token_urlsafe(16)


class Contact(Base):
    """A person we may message, with normalised addresses and their keyed hashes."""

    __tablename__ = "contacts"
    __table_args__ = (CheckConstraint(one_of("status", ContactStatus), name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    email_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)
    phone_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    locale: Mapped[str | None] = mapped_column(String(16))
    country: Mapped[str | None] = mapped_column(String(2))
    timezone: Mapped[str | None] = mapped_column(String(64))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    source: Mapped[str] = mapped_column(String(64), default="api")
    source_detail: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="active", index=True)
    is_legacy: Mapped[bool] = mapped_column(Boolean, default=False)
    last_interaction_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    erased_at: Mapped[datetime | None] = mapped_column(DateTime)


class ContactList(Base):
    """A named audience; membership is not consent."""

    __tablename__ = "lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    members: Mapped[list[ListMember]] = relationship(back_populates="list", cascade="all, delete-orphan")


class ListTally(Base):
    """A change in a list's member count: +n members added, -n removed. Written only by the database's
    triggers on `list_members` (migration 0028), as delivery_tallies are on `deliveries`; summed, the list's size."""

    __tablename__ = "list_tallies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"), index=True)
    delta: Mapped[int] = mapped_column(Integer)


class ListMember(Base):
    """Membership of a contact in a list."""

    __tablename__ = "list_members"

    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"), primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    added_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    list: Mapped[ContactList] = relationship(back_populates="members")


class Suppression(Base):
    """A keyed hash of an address that must never be messaged again on a channel."""

    __tablename__ = "suppressions"
    __table_args__ = (
        UniqueConstraint("address_hash", "channel"),
        CheckConstraint(one_of("channel", Channel), name="channel"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    address_hash: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


Index("ix_contacts_created_id", Contact.created_at, Contact.id)
# Staff search by name: prefix ranges on lower(first_name) / lower(last_name).
Index("ix_contacts_lower_first_name", func.lower(Contact.first_name))
Index("ix_contacts_lower_last_name", func.lower(Contact.last_name))
# Staff search by domain ("@example.org", "example.org"): prefix ranges on the part after the @.
Index("ix_contacts_email_domain", email_domain(Contact.email))
