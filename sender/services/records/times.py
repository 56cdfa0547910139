"""Moments as people read them: in the organisation's time zone, with its offset, in exports and messages.

Times are stored as naive UTC; the staff pages show them in the organisation's zone, and so do the CSV
exports and the system messages, through these functions.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date


def localised(moment: datetime, zone: ZoneInfo) -> datetime:
    """A stored (naive UTC) moment as an aware datetime in `zone`."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(zone)


def iso(moment: datetime, zone: ZoneInfo) -> str:
    """ISO 8601 in `zone` with its offset, to the second (2027-01-15T18:00:00+01:00): for CSV cells."""
    return localised(moment, zone).isoformat(timespec="seconds")


def shown(moment: datetime | None, zone: ZoneInfo) -> str:
    """A moment as the staff pages show it (2027-01-15 18:00 CET); empty for None."""
    return "" if moment is None else localised(moment, zone).strftime("%Y-%m-%d %H:%M %Z")


def spoken(moment: datetime, zone: ZoneInfo, locale: str) -> str:
    """A date and time a person reads in a message: '15 janvier 2027, 18:00 (UTC+01:00)'."""
    local = localised(moment, zone)
    offset = local.strftime("%z")
    return f"{format_date(local, 'long', locale=locale)}, {local:%H:%M} (UTC{offset[:3]}:{offset[3:]})"
