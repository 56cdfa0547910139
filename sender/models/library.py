"""The composer's library: reusable layouts (templates) and uploaded images (media)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sender.db import Base, utcnow


class Template(Base):
    """A layout with a `{{ content }}` slot for the campaign's body, in HTML and in plain text.

    A built-in template (`key` names it) is never edited; a template used by a launched campaign is
    frozen (`frozen_at`) as a consent wording is: duplicate it to change it.
    """

    __tablename__ = "templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str | None] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    layout_html: Mapped[str] = mapped_column(Text, default="")
    layout_text: Mapped[str] = mapped_column(Text, default="")
    built_in: Mapped[bool] = mapped_column(Boolean, default=False)
    frozen_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class Media(Base):
    """An uploaded image, re-encoded without metadata; served at /media/<public_key> to anyone."""

    __tablename__ = "media"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Random and unguessable: the URL names the image, never a person.
    public_key: Mapped[str] = mapped_column(String(32), unique=True)
    content_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    alt_text: Mapped[str] = mapped_column(String(500), default="")
    uploaded_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
