"""Data-subject rights: the register of requests (GDPR Art. 12) and the single-use record of link tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sender.db import Base, utcnow
from sender.enums import RequestStatus
from sender.models.contacts import new_public_id

REQUEST_KINDS = ("access", "rectification", "erasure", "restriction", "portability", "objection")
REQUEST_CHANNELS = ("portal", "email", "post", "phone", "in_person")
REQUEST_STATUSES = tuple(RequestStatus)


class RightsRequest(Base):
    """One request of a person exercising a right, with its legal deadline (R39); holds no personal data."""

    __tablename__ = "rights_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    # An erased contact keeps a stub row without personal data, so the request stays linked to it.
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    received_via: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(DateTime)
    due_at: Mapped[datetime] = mapped_column(DateTime)
    extended_due_at: Mapped[datetime | None] = mapped_column(DateTime)
    extension_reason: Mapped[str | None] = mapped_column(Text)
    extension_notified_at: Mapped[datetime | None] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16), default=RequestStatus.OPEN)
    outcome: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    recorded_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class UsedToken(Base):
    """The id (jti) of a link token that was spent on an action: such tokens work once (R37)."""

    __tablename__ = "used_tokens"

    jti: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    used_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)


class AddressChange(Base):
    """A corrected address waiting for its confirmation from that address (Art. 16 without hijacking).

    Until the link sent to the new address is used, the contact keeps the old one: nothing goes to the new
    address. Erasure deletes these rows with the rest of the person's data.
    """

    __tablename__ = "address_changes"
    __table_args__ = (UniqueConstraint("contact_id", "field"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    # The contact column the address goes to (a channel's address column: "email", "phone").
    field: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(320))
    # The confirmation link's id: a newer correction replaces it, so an older link confirms nothing.
    jti: Mapped[str] = mapped_column(String(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


Index("ix_rights_requests_status_due", RightsRequest.status, RightsRequest.due_at)
