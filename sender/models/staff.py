"""What the staff pages keep: organisation settings and sign-in throttles."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sender.db import Base, utcnow


class OrganisationSettings(Base):
    """The organisation's identity as entered on the settings page (one row, id 1); env variables win."""

    __tablename__ = "organisation_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    legal_name: Mapped[str] = mapped_column(String(200), default="")
    postal_address: Mapped[str] = mapped_column(Text, default="")
    contact_email: Mapped[str] = mapped_column(String(320), default="")
    dpo_contact: Mapped[str] = mapped_column(String(320), default="")
    sender_address: Mapped[str] = mapped_column(String(320), default="")
    default_locale: Mapped[str] = mapped_column(String(16), default="en")
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Paris")
    # DKIM signing (DKIM_SELECTOR and DKIM_DOMAIN win); the private key is a 0600 file, never a column.
    dkim_selector: Mapped[str] = mapped_column(String(63), default="")
    dkim_domain: Mapped[str] = mapped_column(String(253), default="")
    # The brand that templates show through {{ brand_color }} and {{ logo_url }}.
    brand_color: Mapped[str] = mapped_column(String(7), default="")
    logo_media_id: Mapped[int | None] = mapped_column(ForeignKey("media.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class SignInThrottle(Base):
    """Failed sign-ins counted per keyed hash of an account or a client address, and the lock they earn."""

    __tablename__ = "signin_throttles"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime)
