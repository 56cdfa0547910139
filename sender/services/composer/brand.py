"""The organisation's brand for templates: a colour white text stays readable on, and a logo image."""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from sender.i18n import N_
from sender.models import Media
from sender.services.accounts import organisation
from sender.services.errors import ValidationFailed
from sender.services.records import audit

_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")
# WCAG 2 AA for body text: the layouts put white text on the brand colour.
MIN_CONTRAST = 4.5


def _luminance(color: str) -> float:
    """Relative luminance of a #rrggbb colour (WCAG 2)."""
    channels = []
    for i in (1, 3, 5):
        c = int(color[i : i + 2], 16) / 255
        channels.append(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4)
    red, green, blue = channels
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(first: str, second: str) -> float:
    """The WCAG contrast ratio of two #rrggbb colours (1 to 21)."""
    high, low = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def set_brand(session: Session, color: str, logo_media_id: int | None, actor: str) -> None:
    """Store the brand colour (empty: the default) and logo; ValidationFailed names the field."""
    color = color.strip()
    if color and not _HEX.match(color):
        raise ValidationFailed({"brand_color": N_("write the colour as #rrggbb")})
    if color and contrast(color, "#ffffff") < MIN_CONTRAST:
        raise ValidationFailed(
            {
                "brand_color": N_(
                    "white text on this colour has a contrast of %(ratio)s:1; at least 4.5:1 is needed",
                    ratio=f"{contrast(color, '#ffffff'):.1f}",
                )
            }
        )
    if logo_media_id is not None and session.get(Media, logo_media_id) is None:
        raise ValidationFailed({"logo": N_("no such image")})
    row = organisation.stored(session)
    row.brand_color, row.logo_media_id = color.lower(), logo_media_id
    audit.record(session, actor, "organisation.brand", "organisation", row.id, {})
