"""Countries as people write them: ISO 3166 codes, or the country's name in French or English (CLDR, via Babel)."""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from babel import Locale
from babel.core import get_global

from sender.i18n import N_

# The languages whose country names are read; both of our interface languages.
NAME_LOCALES = ("fr", "en")


def _key(text: str) -> str:
    """Lower-case letters and digits without accents: 'CÔTE D IVOIRE' and "Côte d'Ivoire" match."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed.casefold() if ch.isascii() and ch.isalnum())


@lru_cache(maxsize=1)
def _codes() -> dict[str, str]:
    """Every accepted spelling (reduced by _key) -> its ISO 3166 alpha-2 code."""
    found: dict[str, str] = {}
    for name in NAME_LOCALES:
        for code, label in Locale.parse(name).territories.items():
            if len(code) == 2 and code.isalpha():  # not regions such as 001 (World) or 150 (Europe)
                found.setdefault(_key(code), code)
                found.setdefault(_key(label), code)
    # Alpha-3 and numeric codes, and old or common aliases (UK, FX), when they name one country.
    for alias, targets in get_global("territory_aliases").items():
        if len(targets) == 1 and _key(targets[0]) in found:
            found.setdefault(_key(alias), targets[0])
    return found


def country_code(value: str) -> str | None:
    """The ISO 3166 alpha-2 code of a code or name (FR, FRA, France, Allemagne, Germany), or None."""
    return _codes().get(_key(value.strip())) if value.strip() else None


PROBLEM = N_("not a country: give an ISO code such as FR or a name such as France (in French or English)")
