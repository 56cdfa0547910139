"""Email addresses and phone numbers: normalising, hashing, and every reading of a phone number.

Phone numbers are parsed, recognised in free text and formatted here only, with phonenumbers' own data
(country codes, lengths, time zones) rather than a pattern of our own.
"""

from __future__ import annotations

import hashlib
import hmac

import phonenumbers
from email_validator import EmailNotValidError, validate_email


class AddressError(ValueError):
    """An address could not be normalised; `field` names the input that was wrong."""

    def __init__(self, field: str, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.detail = detail  # the parsing library's own words, when the text quotes them


def normalize_email(raw: str, field: str = "email") -> str:
    """Return the canonical lower-case form of an email address, without any DNS lookup."""
    if not isinstance(raw, str):
        raise AddressError(field, "must be a string")
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise AddressError(field, str(exc), str(exc)) from None
    # Mailbox providers treat local parts case-insensitively; one spelling keeps dedupe and hashes stable.
    return result.normalized.lower()


def ascii_email(address: str) -> str:
    """The address as any mail server takes it: its domain in IDNA (xn--…) when its local part is ASCII.

    Otherwise unchanged: only SMTPUTF8 (RFC 6531) can carry a non-ASCII local part.
    """
    if address.isascii():
        return address
    try:
        # The same IDNA rules as normalize_email(); any domain (EMAIL_FROM may be a test or local one).
        result = validate_email(
            address, check_deliverability=False, globally_deliverable=False, test_environment=True
        )
    except EmailNotValidError:
        return address
    return result.ascii_email or address


def normalize_phone(raw: str, region: str, field: str = "phone") -> str:
    """Return a phone number in E.164, reading national numbers in the default region."""
    if not isinstance(raw, str):
        raise AddressError(field, "must be a string")
    try:
        number = phonenumbers.parse(raw.strip(), region)
    except phonenumbers.NumberParseException as exc:
        raise AddressError(field, f"not a phone number: {exc}", str(exc)) from None
    if not phonenumbers.is_valid_number(number):
        raise AddressError(field, "not a valid phone number for its country")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def is_phone_region(code: str) -> bool:
    """Whether `code` is a region phonenumbers can read national numbers in (ISO 3166 alpha-2)."""
    return code in phonenumbers.SUPPORTED_REGIONS


def is_possible_phone(raw: str, region: str = phonenumbers.UNKNOWN_REGION) -> bool:
    """Whether `raw` has the length of a number in its country (international, or national in `region`)."""
    return phonenumbers.is_possible_number_string(raw, region)


def phone_origin(e164: str) -> tuple[str, tuple[str, ...]]:
    """The region and the time-zone names of an E.164 number ("" and none when it tells nothing)."""
    # The time-zone data is large; only the SMS quiet hours need it, so it is loaded on first use.
    from phonenumbers import timezone

    try:
        number = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return "", ()
    names = tuple(n for n in timezone.time_zones_for_number(number) if n != timezone.UNKNOWN_TIMEZONE)
    return phonenumbers.region_code_for_number(number) or "", names


# phonenumbers reads this full-width sign as a plus too.
_WIDE_PLUS = "\uff0b"


def find_phones(text: str) -> list[tuple[int, int]]:
    """The (start, end) spans of the international phone numbers written in free text."""
    # Without a region every number found starts with a plus sign: the matcher's slower scan starts at the
    # first one, and most text (every log record) has none at all.
    starts = [at for at in (text.find("+"), text.find(_WIDE_PLUS)) if at >= 0]
    if not starts:
        return []
    first = min(starts)
    # POSSIBLE, the loosest leniency: a number nobody owns yet, or mistyped within its length, is found too.
    found = phonenumbers.PhoneNumberMatcher(text[first:], None, leniency=phonenumbers.Leniency.POSSIBLE)
    return [(first + match.start, first + match.end) for match in found]


def has_phone(text: str) -> bool:
    """Whether free text holds an international phone number."""
    return bool(find_phones(text))


def mask_phones(text: str, mask: str = "<phone>") -> str:
    """Free text with each international phone number in it replaced by `mask`."""
    spans = find_phones(text)
    if not spans:
        return text
    parts, last = [], 0
    for start, end in spans:
        parts += [text[last:start], mask]
        last = end
    return "".join([*parts, text[last:]])


def address_hash(key: str, normalized: str) -> str:
    """Keyed hash (HMAC-SHA256) of a normalised address: what the suppression list keeps."""
    return hmac.new(key.encode(), normalized.encode(), hashlib.sha256).hexdigest()
