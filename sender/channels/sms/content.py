"""SMS text: GSM-7 or UCS-2, segment counts, and the mandatory mentions that are never cut (R19, R21)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)

from sender.i18n import translations

Encoding = Literal["GSM-7", "UCS-2"]
# Twilio France short codes carry at most 10 segments per message (R21 source); beyond, a second SMS.
MAX_SEGMENTS = 10
_SINGLE = {"GSM-7": 160, "UCS-2": 70}
# A concatenated segment gives 7 septets (GSM-7) or 3 UTF-16 units (UCS-2) to its user-data header.
_PART = {"GSM-7": 153, "UCS-2": 67}
_ESCAPE = 0x1B


@dataclass(frozen=True)
class SmsSize:
    """How a text travels: its encoding, length in septets or UTF-16 units, and segments."""

    encoding: Encoding
    units: int
    segments: int


def _units(text: str) -> tuple[Encoding, list[int]]:
    """The text as GSM-7 septets (an extension character is ESC + septet) or as UTF-16 code units."""
    try:
        return "GSM-7", list(text.encode("gsm03.38"))
    except UnicodeEncodeError:
        data = text.encode("utf-16-be")
        return "UCS-2", [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


def _split(encoding: Encoding, units: list[int]) -> int:
    """Segments needed, never splitting an escape pair (GSM-7) or a surrogate pair (UCS-2)."""
    if len(units) <= _SINGLE[encoding]:
        return 1 if units else 0
    size, count, i = _PART[encoding], 0, 0
    while i < len(units):
        end = min(i + size, len(units))
        if end < len(units):
            last = units[end - 1]
            if (encoding == "GSM-7" and last == _ESCAPE) or (
                encoding == "UCS-2" and 0xD800 <= last <= 0xDBFF
            ):
                end -= 1
        count, i = count + 1, end
    return count


def measure(text: str) -> SmsSize:
    """Encoding, length and segment count of one SMS text."""
    encoding, units = _units(text)
    return SmsSize(encoding, len(units), _split(encoding, units))


def too_long(text: str) -> str | None:
    """Why one rendered SMS text does not fit in one message of at most MAX_SEGMENTS segments, or None."""
    size = measure(text)
    if size.segments > MAX_SEGMENTS:
        return f"{size.segments} segments ({size.encoding}); one SMS carries at most {MAX_SEGMENTS}"
    return None


def mentions(sender_name: str, stop_text: str, portal_url: str | None = None, *, locale: str = "en") -> str:
    """The system mentions of a marketing SMS: who sends it and how to stop (and the portal, if set), in
    the language chosen for the person."""
    parts = [sender_name.strip(), stop_text.strip()]
    if portal_url:
        parts.append(translations(locale).gettext("Your data: %(url)s") % {"url": portal_url})
    return "\n".join(part for part in parts if part)


def compose(body: str, mention_text: str) -> tuple[str, ...]:
    """The SMS to send: body and mentions together, or a second SMS carrying the mentions when they do
    not fit in one message; the mentions are never shortened."""
    body = body.strip()
    if not mention_text:
        return (body,)
    together = f"{body}\n{mention_text}" if body else mention_text
    if measure(together).segments <= MAX_SEGMENTS:
        return (together,)
    return (body, mention_text)


def total_segments(parts: tuple[str, ...]) -> int:
    """Segments billed for all the SMS of one delivery."""
    return sum(measure(part).segments for part in parts)
