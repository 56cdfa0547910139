"""Quiet hours for marketing SMS: local time from the number, French rule, holidays, DST, overseas (R14, R15)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from sender.channels.sms.quiet_hours import Place, Window, place_of, window
from sender.config import ConfigError
from sender.config_sms import SmsSettings, load_sms_settings, parse_quiet_hours

PARIS = ZoneInfo("Europe/Paris")
MOBILE_FR = "+33612345678"
GUADELOUPE = "+590690123456"
REUNION = "+262692123456"
NEW_YORK = "+12125551234"
SMS = SmsSettings()


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)  # type: ignore[misc]


def utc_naive(at: datetime) -> datetime:
    return at.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def at_fr(at: datetime, sms: SmsSettings = SMS, phone: str = MOBILE_FR) -> tuple[bool, datetime | None]:
    answer = window(sms, place_of(phone), at)
    return answer.allowed, answer.next_slot


def test_a_french_number_is_read_in_paris_time() -> None:
    assert place_of(MOBILE_FR) == Place("FR", (PARIS,))


def test_inside_the_window_the_message_may_go_and_its_validity_ends_at_the_close() -> None:
    at = paris(2026, 12, 1, 21, 0)  # Tuesday
    answer = window(SMS, place_of(MOBILE_FR), at)

    assert answer.allowed
    assert answer.closes_at == utc_naive(paris(2026, 12, 1, 21, 30))
    # R15: enqueued at 21:00 with the window closing at 21:30, ValidityPeriod is at most 1800 s.
    assert answer.validity_period(at) == 1800


def test_validity_never_exceeds_twilio_ten_hours() -> None:
    at = paris(2026, 12, 1, 8, 0)
    assert window(SMS, place_of(MOBILE_FR), at).validity_period(at) == 36_000


def test_saturday_night_is_deferred_to_monday_morning() -> None:
    assert at_fr(paris(2026, 11, 28, 21, 45)) == (False, utc_naive(paris(2026, 11, 30, 8, 0)))


def test_saturday_night_before_easter_monday_goes_to_tuesday_across_the_dst_change() -> None:
    # 27 March 2027 is a Saturday; clocks go forward on Sunday 28; Monday 29 is Easter Monday.
    allowed, slot = at_fr(paris(2027, 3, 27, 21, 45))

    assert not allowed
    assert slot == utc_naive(paris(2027, 3, 30, 8, 0))
    assert slot == datetime(2027, 3, 30, 6, 0)  # 08:00 CEST is 06:00 UTC, not 07:00


def test_the_autumn_dst_change_keeps_the_local_opening_hour() -> None:
    # Clocks go back on Sunday 25 October 2026: Monday 08:00 CET is 07:00 UTC.
    assert at_fr(paris(2026, 10, 24, 22, 0)) == (False, datetime(2026, 10, 26, 7, 0))


@pytest.mark.parametrize(
    ("at", "slot"),
    [
        (paris(2027, 7, 14, 10, 0), paris(2027, 7, 15, 8, 0)),  # 14 July, a Wednesday
        (paris(2026, 8, 15, 10, 0), paris(2026, 8, 17, 8, 0)),  # 15 August, a Saturday, then Sunday
        (paris(2026, 12, 1, 7, 59), paris(2026, 12, 1, 8, 0)),  # too early
        (paris(2026, 12, 1, 21, 30), paris(2026, 12, 2, 8, 0)),  # the close itself is outside
    ],
)
def test_holidays_sundays_and_night_are_deferred(at: datetime, slot: datetime) -> None:
    assert at_fr(at) == (False, utc_naive(slot))


def test_holidays_and_sundays_open_when_enabled() -> None:
    relaxed = load_sms_settings(
        {"SMS_ALLOW_HOLIDAYS": "true", "SMS_QUIET_HOURS": "FR=mon-sun 08:00-21:30; *=mon-sat 08:00-21:30"}
    )

    assert at_fr(paris(2027, 7, 14, 10, 0), relaxed)[0]
    assert at_fr(paris(2026, 8, 16, 10, 0), relaxed)[0]  # a Sunday


def test_an_overseas_department_uses_its_own_zone_and_the_french_rule() -> None:
    place = place_of(GUADELOUPE)
    assert place == Place("GP", (ZoneInfo("America/Guadeloupe"),))
    # 12:30 UTC is 08:30 in Guadeloupe (UTC-4) on a Tuesday.
    assert window(SMS, place, datetime(2026, 12, 1, 12, 30)).allowed
    # 01:00 UTC on Wednesday is 21:00 on Tuesday in Guadeloupe: still open, closing at 01:30 UTC.
    answer = window(SMS, place, datetime(2026, 12, 2, 1, 0))
    assert answer.allowed and answer.closes_at == datetime(2026, 12, 2, 1, 30)
    # 11:00 UTC is 07:00 there: deferred to 08:00 local, 12:00 UTC.
    assert window(SMS, place, datetime(2026, 12, 1, 11, 0)).next_slot == datetime(2026, 12, 1, 12, 0)


def test_an_overseas_department_has_its_own_holidays() -> None:
    # 27 May is the abolition of slavery in Guadeloupe, a working day in mainland France.
    may_27 = datetime(2027, 5, 27, 14, 0)  # Thursday, 10:00 in Guadeloupe
    assert not window(SMS, place_of(GUADELOUPE), may_27).allowed
    assert window(SMS, place_of(MOBILE_FR), may_27).allowed


def test_a_prefix_spanning_two_zones_must_be_open_in_both_unless_the_contact_says_which() -> None:
    # +262 covers Réunion (UTC+4) and Mayotte (UTC+3); 04:30 UTC is 08:30 in Réunion, 07:30 in Mayotte.
    at = datetime(2026, 12, 1, 4, 30)
    assert window(SMS, place_of(REUNION), at) == Window(False, next_slot=datetime(2026, 12, 1, 5, 0))
    assert window(SMS, place_of(REUNION, timezone="Indian/Reunion"), at).allowed


def test_other_countries_follow_their_own_rule_or_the_default() -> None:
    sms = load_sms_settings(
        {"SMS_QUIET_HOURS": "FR=mon-sat 08:00-21:30; US=mon-fri 09:00-20:00; *=mon-sat 10:00-18:00"}
    )
    saturday_noon_ny = datetime(2026, 11, 28, 17, 0)  # 12:00 in New York
    assert not window(sms, place_of(NEW_YORK), saturday_noon_ny).allowed
    assert window(sms, place_of("+4915123456789"), datetime(2026, 11, 28, 11, 0)).allowed  # 12:00 Berlin
    assert not window(sms, place_of("+4915123456789"), datetime(2026, 11, 30, 8, 30)).allowed  # 09:30


def test_a_contact_country_and_zone_override_the_number() -> None:
    place = place_of(MOBILE_FR, timezone="America/New_York", country="US")
    assert place == Place("US", (ZoneInfo("America/New_York"),))
    assert place_of(MOBILE_FR, timezone="Not/AZone") == Place("FR", (PARIS,))


@pytest.mark.parametrize(
    "raw",
    [
        "FR=mon-sat 08:00-21:30",
        "FR=mon-sat 21:30-08:00; *=mon-sat 08:00-21:30",
        "FR=lun 08:00-21:30; *=mon 08:00-09:00",
        "France=mon 08:00-09:00; *=mon 08:00-09:00",
    ],
)
def test_a_malformed_quiet_hours_setting_is_refused(raw: str) -> None:
    with pytest.raises(ConfigError, match="SMS_QUIET_HOURS"):
        parse_quiet_hours(raw)
