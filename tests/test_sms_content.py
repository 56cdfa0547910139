"""SMS text: GSM-7 or UCS-2, segment counts, and mandatory mentions that are never cut (R19, R21)."""

from __future__ import annotations

import pytest

from sender.channels.sms.content import MAX_SEGMENTS, compose, measure, mentions, total_segments

MENTIONS = mentions("Exemple", "STOP au 36123")


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("", "GSM-7", 0, 0),
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("Prix : 10€ [promo]", "GSM-7", 21, 1),  # € [ ] are extension characters: two septets each
        ("é à è ù ì ò Ç É ñ ü ß", "GSM-7", 21, 1),  # in the GSM-7 basic table
        ("ç", "UCS-2", 1, 1),  # lower-case c cedilla is not
        ("Soldes ê", "UCS-2", 8, 1),
        ("ê" * 70, "UCS-2", 70, 1),
        ("ê" * 71, "UCS-2", 71, 2),
        ("🎉" * 35, "UCS-2", 70, 1),  # an emoji is two UTF-16 units
    ],
)
def test_encoding_and_segments(text: str, encoding: str, units: int, segments: int) -> None:
    size = measure(text)
    assert (size.encoding, size.units, size.segments) == (encoding, units, segments)


def test_an_extension_character_is_never_split_across_segments() -> None:
    # 152 plain septets then "€" (ESC + e): the pair would straddle the 153-septet boundary, so it moves.
    assert measure("a" * 152 + "€" + "a" * 152).segments == 3
    assert measure("a" * 151 + "€" + "a" * 153).segments == 2


def test_an_emoji_is_never_split_across_segments() -> None:
    assert measure("a" * 66 + "🎉" + "a" * 66).segments == 3  # the pair moves past unit 67


def test_mentions_name_the_sender_and_the_stop_instruction_and_optionally_the_portal() -> None:
    assert MENTIONS == "Exemple\nSTOP au 36123"
    with_link = mentions("Exemple", "STOP au 36123", "https://s.test/p/abc", locale="fr")
    assert with_link.endswith("\nVos données : https://s.test/p/abc")
    in_english = mentions("Example", "Reply STOP to 36123", "https://s.test/p/abc", locale="en")
    assert in_english.endswith("\nYour data: https://s.test/p/abc")
    assert mentions("Exemple", "") == "Exemple"


def test_a_160_character_body_with_mentions_is_two_segments_never_a_message_without_them() -> None:
    # R21: the mentions make the SMS longer; they are never dropped to keep it in one segment.
    (sms,) = compose("a" * 160, MENTIONS)
    assert sms.endswith(MENTIONS)
    assert total_segments((sms,)) == 2


def test_mentions_go_in_a_second_sms_when_the_first_would_exceed_the_segment_limit() -> None:
    body = "a" * (153 * MAX_SEGMENTS - 5)
    parts = compose(body, MENTIONS)

    assert parts == (body, MENTIONS)
    assert measure(parts[0]).segments == MAX_SEGMENTS


def test_one_ucs2_character_in_the_body_changes_the_whole_sms() -> None:
    (sms,) = compose("Offre spéciale : ça vous plaît ?", MENTIONS)
    assert measure(sms).encoding == "UCS-2"
