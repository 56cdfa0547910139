"""When a marketing SMS may arrive: the recipient's local time, their country's rule and holidays (R14, R15).

The time zone comes from the E.164 number (phonenumbers' geographic data) unless the contact has one of
their own; a number whose prefix spans several zones must be inside the window in all of them. French
overseas departments keep the French rule in their own zone and with their own public holidays.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from sender.addresses import phone_origin
from sender.config_sms import QuietRule, SmsSettings

# Twilio keeps a message queued at most 10 hours (ValidityPeriod 1..36000 s).
MAX_VALIDITY = 36_000
FALLBACK_ZONE = "Europe/Paris"
# Overseas departments and collectivities: French law, their own clock and calendar.
FRENCH_OVERSEAS = frozenset({"RE", "YT", "GP", "MQ", "GF", "PM", "BL", "MF", "NC", "PF", "WF"})
_SEARCH_DAYS = 31


@dataclass(frozen=True)
class Window:
    """The answer for one recipient at one moment (naive UTC, as stored)."""

    allowed: bool
    closes_at: datetime | None = None  # when allowed: the end of the current window
    next_slot: datetime | None = None  # when not allowed: the next moment it opens

    def validity_period(self, at: datetime) -> int:
        """Seconds Twilio may keep the message queued so it cannot arrive after the window closes."""
        assert self.closes_at is not None
        seconds = int((self.closes_at - _naive_utc(at)).total_seconds())
        return max(1, min(MAX_VALIDITY, seconds))


@dataclass(frozen=True)
class Place:
    """Where a recipient's clock and calendar come from."""

    region: str
    zones: tuple[ZoneInfo, ...]


def _naive_utc(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at


def _zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


@functools.lru_cache(maxsize=4096)
def place_of(phone: str, timezone: str | None = None, country: str | None = None) -> Place:
    """Region and time zone(s) of a recipient: the contact's own values first, then the number's."""
    region, names = phone_origin(phone)
    region = (country or region or "").upper()
    own = _zone(timezone)
    zones = (own,) if own else tuple(z for z in map(_zone, names) if z is not None)
    return Place(region, zones or (ZoneInfo(FALLBACK_ZONE),))


def _rule(sms: SmsSettings, region: str) -> QuietRule:
    if region in sms.quiet_hours:
        return sms.quiet_hours[region]
    if region in FRENCH_OVERSEAS and "FR" in sms.quiet_hours:
        return sms.quiet_hours["FR"]
    return sms.quiet_hours["*"]


@functools.lru_cache(maxsize=64)
def _calendar(region: str) -> holidays.HolidayBase | None:
    try:
        return holidays.country_holidays(region)
    except NotImplementedError:
        return None


def _open_day(sms: SmsSettings, rule: QuietRule, region: str, day: date) -> bool:
    if day.weekday() not in rule.days:
        return False
    calendar = _calendar(region) if not sms.allow_holidays else None
    return calendar is None or day not in calendar


def _in_zone(sms: SmsSettings, region: str, zone: ZoneInfo, at: datetime) -> Window:
    """The window in one zone, `at` being naive UTC."""
    rule = _rule(sms, region)
    local = at.replace(tzinfo=UTC).astimezone(zone)
    day = local.date()
    for offset in range(_SEARCH_DAYS):
        current = day + timedelta(days=offset)
        if not _open_day(sms, rule, region, current):
            continue
        opens = _naive_utc(datetime.combine(current, rule.start, tzinfo=zone))
        closes = _naive_utc(datetime.combine(current, rule.end, tzinfo=zone))
        if opens <= at < closes:
            return Window(True, closes_at=closes)
        if at < opens:
            return Window(False, next_slot=opens)
    return Window(False, next_slot=None)


def window(sms: SmsSettings, place: Place, at: datetime) -> Window:
    """Whether a marketing SMS may arrive at `at` (in every zone of the place), else when it may."""
    moment = _naive_utc(at)
    for _ in range(8):
        answers = [_in_zone(sms, place.region, zone, moment) for zone in place.zones]
        if all(a.allowed for a in answers):
            if moment == _naive_utc(at):
                return Window(True, closes_at=min(a.closes_at for a in answers if a.closes_at))
            return Window(False, next_slot=moment)
        slots = [a.next_slot for a in answers if not a.allowed]
        if any(slot is None for slot in slots):
            break
        moment = max(slot for slot in slots if slot is not None)
    return Window(False, next_slot=None)
