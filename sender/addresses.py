"""Normalising and hashing email addresses and phone numbers."""

from __future__ import annotations

import hashlib
import hmac

import phonenumbers
from email_validator import EmailNotValidError, validate_email


class AddressError(ValueError):
    """An address could not be normalised; `field` names the input that was wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def normalize_email(raw: str, field: str = "email") -> str:
    """Return the canonical lower-case form of an email address, without any DNS lookup."""
    if not isinstance(raw, str):
        raise AddressError(field, "must be a string")
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise AddressError(field, str(exc)) from None
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
        raise AddressError(field, f"not a phone number: {exc}") from None
    if not phonenumbers.is_valid_number(number):
        raise AddressError(field, "not a valid phone number for its country")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def address_hash(key: str, normalized: str) -> str:
    """Keyed hash (HMAC-SHA256) of a normalised address: what the suppression list keeps."""
    return hmac.new(key.encode(), normalized.encode(), hashlib.sha256).hexdigest()
