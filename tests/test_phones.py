"""Phone numbers read in one place (sender.addresses): found in free text, hidden, placed, told apart."""

from __future__ import annotations

import pytest

from sender.addresses import (
    find_phones,
    has_phone,
    is_phone_region,
    is_possible_phone,
    mask_phones,
    phone_origin,
)
from sender.scrub import scrub
from sender.services.audience.search import guess_kind
from sender.tokens import TokenService


@pytest.mark.parametrize(
    "written",
    [
        "+33612345678",
        "+33 6 12 34 56 78",
        "+33.6.12.34.56.78",
        "+1 (415) 555-2671",
        "+44 20 7946 0958",
        "+262 692 12 34 56",
        "\uff0b33612345678",  # a full-width plus, as phonenumbers reads it
    ],
)
def test_numbers_written_any_way_are_found_and_hidden(written: str) -> None:
    text = f"The 'To' number {written} is not valid."
    assert has_phone(text)
    assert mask_phones(text) == "The 'To' number <phone> is not valid."
    assert scrub(text) == "The 'To' number <phone> is not valid."


@pytest.mark.parametrize(
    "text",
    [
        "campaign 12 batch 3: sent=50",
        "scheduler tick at 2026-12-05T10:12:01+00:00: 0 due",
        "job in 0:00:01.234567s, +3 retries",
        "06 12 34 56 78",  # national: without a region nobody can say whose number it is
    ],
)
def test_ids_times_and_counts_are_not_numbers(text: str) -> None:
    assert find_phones(text) == []
    assert mask_phones(text) == text


def test_every_number_in_a_text_is_hidden_and_the_rest_kept() -> None:
    text = "from +33612345678 to +44 20 7946 0958 (2 parts)"
    assert mask_phones(text, "#") == "from # to # (2 parts)"


def test_tokens_refuse_a_number_however_it_is_written() -> None:
    with pytest.raises(ValueError, match="opaque"):
        TokenService(["k" * 32]).dumps("portal", {"c": "abc", "to": "+33 6 12 34 56 78"})


def test_origin_of_a_number_gives_its_region_and_zones() -> None:
    assert phone_origin("+33612345678") == ("FR", ("Europe/Paris",))
    assert phone_origin("+262692123456")[0] == "RE"
    assert phone_origin("not a number") == ("", ())


def test_possible_numbers_and_regions() -> None:
    assert is_possible_phone("+33612345678")
    assert is_possible_phone("06 12 34 56 78", "FR")
    assert not is_possible_phone("06 12 34 56 78")  # national, and no region to read it in
    assert not is_possible_phone("36123")
    assert is_phone_region("FR") and not is_phone_region("XX")


@pytest.mark.parametrize(
    ("query", "kind"),
    [
        ("06 12 34 56 78", "phone"),
        ("+44 20 7946 0958", "phone"),
        ("#vip", "tag"),
        ("jeanne@", "email"),
        ("Jeanne", "name"),
        ("2024", "name"),
    ],
)
def test_search_tells_a_phone_number_from_a_name(query: str, kind: str) -> None:
    assert guess_kind(query, "FR") == kind
