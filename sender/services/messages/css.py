"""Sizes a message's HTML may ask for: every length of its inline CSS and size attributes is bounded.

The allow-list (sanitise.py) keeps presentation properties, but `padding-bottom:100000px`, `line-height:100000px`
or `<img height=100000>` would still push the footer some 100,000 pixels down. Each length is converted to the
most pixels it can mean in a mail client (an em is at most the largest font allowed, a percent of a 2,000 pixel
box...) and a declaration or attribute over its property's bound is dropped. Anything that cannot be measured
(calc(), var(), escapes, comments) is dropped too. Font sizes relative to the parent's are refused: nested,
they grow geometrically.
"""

from __future__ import annotations

import re
from collections.abc import Collection

# The largest font a message may ask for, in CSS pixels (a display headline is 40 to 72).
MAX_FONT_PX = 100
# The widest (or, for an image, tallest) box an element may ask for, and the largest viewport assumed.
MAX_BOX_PX = 2000
# Bounds in CSS pixels by property: room for any real layout, far too little to hide what follows.
_BOUND_PX = {
    "font-size": MAX_FONT_PX,
    "line-height": 3 * MAX_FONT_PX,
    "letter-spacing": MAX_FONT_PX,
    "vertical-align": MAX_FONT_PX,
    "text-decoration": 20,
    "width": MAX_BOX_PX,
    "max-width": MAX_BOX_PX,
}
# padding*, border*, border-radius.
_BOX_BOUND_PX = 300
# The most pixels one unit can be. Relative units take their largest reference: the biggest font (em, ex, ch),
# the root font (rem: the system writes the document root), or a 2,000 pixel box or viewport (%, vw, vh).
_PX_PER_UNIT = {
    "": 1.0,  # a bare number is read as pixels by quirks-mode renderers
    "px": 1.0,
    "pt": 4 / 3,
    "pc": 16.0,
    "in": 96.0,
    "cm": 96 / 2.54,
    "mm": 96 / 25.4,
    "q": 96 / 101.6,
    "rem": 16.0,
    "rlh": 24.0,
    "em": float(MAX_FONT_PX),
    "ex": float(MAX_FONT_PX),
    "ch": float(MAX_FONT_PX),
    "cap": float(MAX_FONT_PX),
    "ic": float(MAX_FONT_PX),
    "lh": 3.0 * MAX_FONT_PX,
    "%": MAX_BOX_PX / 100,
    **{unit: MAX_BOX_PX / 100 for unit in ("vw", "vh", "vi", "vb", "vmin", "vmax")},
    **{
        f"{size}{unit}": MAX_BOX_PX / 100
        for size in "sld"
        for unit in ("vw", "vh", "vi", "vb", "vmin", "vmax")
    },
}
# Relative to the parent's font: `font-size:2em` nested 20 deep is a million times larger.
_COMPOUNDING = frozenset({"em", "ex", "ch", "cap", "ic", "lh", "%"})
_COMPOUNDING_WORDS = re.compile(r"\b(?:larger|smaller)\b", re.IGNORECASE)
_NUMBER = re.compile(r"([+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?)([a-z%]*)", re.IGNORECASE)
# Colours hold numbers that are not lengths; any other function (calc, var, min…) cannot be measured.
_COLOUR_FUNCTION = re.compile(r"\b(?:rgba?|hsla?)\([\d\s.,%/+-]*\)", re.IGNORECASE)
_HEX_COLOUR = re.compile(r"#[0-9a-f]+\b", re.IGNORECASE)
_IMPORTANT = re.compile(r"\s*!\s*important\s*$", re.IGNORECASE)
_NAME = re.compile(r"[a-z-]+")
# Escapes and comments hide what a value says; braces, angle brackets and @ have no place in one.
_UNREADABLE = re.compile(r"[\\{}<>@]|/\*")
_QUOTES = re.compile(r"[\"']")
# Properties kept only with one of these values: `display` lays out (MJML's columns are inline blocks) but
# never hides (`none`) nor takes an element out of its box (`contents`).
_KEYWORDS = {
    "display": frozenset({"block", "inline", "inline-block", "table", "table-row", "table-cell"}),
}


def _bound(name: str) -> int | None:
    """The bound in pixels of a property's lengths, or None for a property without lengths."""
    if name in _BOUND_PX:
        return _BOUND_PX[name]
    if name.startswith(("padding", "border")):
        return _BOX_BOUND_PX
    return None


def _line_height_px(number: float, unit: str) -> float:
    """The most pixels a line-height can mean: a bare number or a percent multiplies the font size."""
    if unit == "":
        return number * MAX_FONT_PX
    if unit == "%":
        return number * MAX_FONT_PX / 100
    return number * _PX_PER_UNIT[unit]


def length_fits(name: str, value: str) -> bool:
    """True when every length in the value of property `name` is within the property's bound."""
    bound = _bound(name)
    if bound is None:
        return True
    if name == "font-size" and _COMPOUNDING_WORDS.search(value):
        return False
    for number, raw_unit in _NUMBER.findall(_HEX_COLOUR.sub(" ", _COLOUR_FUNCTION.sub(" ", value))):
        unit = raw_unit.lower()
        if unit not in _PX_PER_UNIT or (name == "font-size" and unit in _COMPOUNDING):
            return False
        amount = abs(float(number))
        pixels = _line_height_px(amount, unit) if name == "line-height" else amount * _PX_PER_UNIT[unit]
        if pixels > bound:
            return False
    return True


def bounded_style(style: str, allowed: Collection[str]) -> str:
    """The declarations of a style attribute that are allowed and measurable and whose lengths fit."""
    kept = []
    for declaration in style.split(";"):
        name, colon, value = declaration.partition(":")
        name, value = name.strip().lower(), _IMPORTANT.sub("", value).strip()
        if not colon or not _NAME.fullmatch(name) or name not in allowed or not value:
            continue
        if _UNREADABLE.search(value) or "(" in _COLOUR_FUNCTION.sub("", value) or "!" in value:
            continue
        # Quotes belong in font names only, and must pair: an open one would carry the next declarations.
        quotes = _QUOTES.findall(value)
        if quotes and (name != "font-family" or len(quotes) % 2):
            continue
        if name in _KEYWORDS and value.lower() not in _KEYWORDS[name]:
            continue
        if not length_fits(name, value):
            continue
        kept.append(f"{name}:{value}")
    return ";".join(kept)


def size_attribute_fits(attribute: str, value: str) -> bool:
    """True for an HTML size attribute (width, height, border, cellpadding, cellspacing) within its bound."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d*)?)\s*(%?)\s*", value)
    if match is None:
        return False
    number, percent = float(match.group(1)), match.group(2)
    if attribute not in ("width", "height"):
        return number <= _BOX_BOUND_PX  # a border or a cell's padding, in pixels whatever follows
    return number <= (100 if percent else MAX_BOX_PX)
