"""Normalising addresses and hashing them for the suppression list (R11, invariant 7)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sender.addresses import AddressError, address_hash, normalize_email, normalize_phone

KEY = "hash-key-0123456789abcdef"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("camille.martin@example.org", "camille.martin@example.org"),
        ("  Camille.Martin@Example.ORG \n", "camille.martin@example.org"),
        ("CAMILLE@EXAMPLE.ORG", "camille@example.org"),
        ("user@Exämple.FR", "user@exämple.fr"),
        ("user@xn--exmple-cua.fr", "user@exämple.fr"),  # the punycode spelling of the same domain
        ("E\u0301lise@exemple.fr", "\u00e9lise@exemple.fr"),  # decomposed accent -> composed (NFC)
        ("Élise@例え.jp", "élise@例え.jp"),
    ],
)
def test_email_normalisation(raw: str, expected: str) -> None:
    assert normalize_email(raw) == expected


def test_spellings_of_one_address_share_one_hash() -> None:
    spellings = ["User@Exämple.FR", "user@xn--exmple-cua.fr", " USER@EXÄMPLE.fr "]
    assert len({address_hash(KEY, normalize_email(s)) for s in spellings}) == 1


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "no-at-sign",
        "a@b",
        "a@@b.fr",
        "x@localhost",
        "a b@c.fr",
        "Camille <c@example.org>",
        "c@exa mple.org",
    ],
)
def test_invalid_email_raises_address_error_naming_the_field(raw: str) -> None:
    with pytest.raises(AddressError) as caught:
        normalize_email(raw, field="contact_email")
    assert caught.value.field == "contact_email"
    assert caught.value.message


def test_email_field_defaults_to_email() -> None:
    with pytest.raises(AddressError) as caught:
        normalize_email("nope")
    assert caught.value.field == "email"


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("06 12 34 56 78", "FR", "+33612345678"),
        ("06.12.34.56.78", "FR", "+33612345678"),
        ("+33 6 12 34 56 78", "FR", "+33612345678"),
        ("0033 6 12 34 56 78", "FR", "+33612345678"),
        ("01 23 45 67 89", "FR", "+33123456789"),
        ("+262 692 12 34 56", "FR", "+262692123456"),  # La Réunion keeps its own country code
        ("+44 20 7946 0958", "FR", "+442079460958"),  # an international number ignores the region
        ("030 123456", "DE", "+4930123456"),
    ],
)
def test_phone_to_e164(raw: str, region: str, expected: str) -> None:
    assert normalize_phone(raw, region) == expected


@pytest.mark.parametrize(
    "raw", ["", "abc", "12", "06 12 34 56 7", "+33 6 12 34 56 78 90 12", "06 12 34 56 78"]
)
def test_invalid_phone_raises_address_error_naming_the_field(raw: str) -> None:
    # The last one is valid in France but means nothing without a region: it must not be guessed.
    region: Any = None if raw == "06 12 34 56 78" else "FR"
    with pytest.raises(AddressError) as caught:
        normalize_phone(raw, region, field="mobile")
    assert caught.value.field == "mobile"
    assert caught.value.message


def test_error_messages_do_not_echo_the_address() -> None:
    # Messages reach logs and API answers; they describe the problem, not the person.
    with pytest.raises(AddressError) as email_error:
        normalize_email("camille martin@example.org")
    with pytest.raises(AddressError) as phone_error:
        normalize_phone("06 12 34 56 7", "FR")
    assert "camille" not in email_error.value.message
    assert "12 34" not in phone_error.value.message


@pytest.mark.parametrize("raw", [None, 33612345678, b"camille@example.org"])
def test_non_text_input_is_an_address_error(raw: Any) -> None:
    with pytest.raises(AddressError) as caught:
        normalize_email(raw)
    assert caught.value.field == "email"
    with pytest.raises(AddressError) as caught:
        normalize_phone(raw, "FR")
    assert caught.value.field == "phone"


def test_keyed_hash_depends_on_the_key() -> None:
    address = normalize_email("camille@example.org")
    assert address_hash(KEY, address) == address_hash(KEY, address)
    assert address_hash(KEY, address) != address_hash("another-key-0123456789", address)
    assert len(address_hash(KEY, address)) == 64
    assert address not in address_hash(KEY, address)


# HMAC pads short keys with NUL bytes ("k" and "k\0" are one key), so keys here contain no NUL.
# Keys come from the environment as text: no lone surrogates, which cannot be encoded.
keys = st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), min_size=1)


@given(key=keys, other=keys, address=st.emails())
def test_keyed_hash_property(key: str, other: str, address: str) -> None:
    digest = address_hash(key, address)
    assert digest == address_hash(key, address)
    if other != key:
        assert digest != address_hash(other, address)
