"""The requalification linter: a request for consent must carry no promotion (R50).

Requests to "update your preferences" that also sell are marketing in their own right (ICO, Flybe and
Honda, 2017). The linter refuses offer, price and discount wording, promotional blocks or classes, and any
link other than the confirm and decline links the system provides; each refusal names the field, the
line and the text found.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

from sender.i18n import N_
from sender.services.errors import ValidationFailed

# Offer, price and discount wording (French and English), amounts of money and percentages.
_PROMOTION = re.compile(
    r"\b(?:promo(?:tion)?s?|offres?|offers?|discounts?|remises?|r[ée]ductions?|soldes?|sales?|coupons?|"
    r"rabais|gratuite?s?|free|bons? plans?|deals?|prix|prices?|pricing|tarifs?|achetez|buy|shop now)\b"
    r"|\d+(?:[.,]\d+)?\s?(?:€|eur\b|euros?\b|\$|usd\b|£)|[€$£]\s?\d|\d+\s?%",
    re.IGNORECASE,
)
# Template blocks and HTML classes or ids that mark promotional sections.
_BLOCK = re.compile(
    r"{%-?\s*block\s+\w*(?:offer|price|discount|promo|deal|sale)\w*"
    r"|\b(?:class|id)\s*=\s*[\"'][^\"']*(?:offer|price|discount|promo|deal|sale)",
    re.IGNORECASE,
)
# Links written into the template: only the system's {{ confirm_url }} and {{ decline_url }} may appear.
_LINK = re.compile(
    r"https?://|www\.|\bhref\s*=\s*[\"'](?!\s*{{\s*(?:confirm_url|decline_url)\s*}})", re.IGNORECASE
)


def _first(pattern: re.Pattern[str], source: str) -> tuple[int, str] | None:
    match = pattern.search(source)
    if match is None:
        return None
    return source.count("\n", 0, match.start()) + 1, match.group(0).strip()


def _scan(
    fields: Mapping[str, str],
    what: str,
    find_link: Callable[[str], tuple[int, str] | None],
    link_refusal: Callable[[tuple[int, str]], str],
) -> dict[str, str]:
    """The first promotional element of each field (a block, a link `find_link` refuses, offer wording)."""
    errors: dict[str, str] = {}
    for field, source in fields.items():
        block = _first(_BLOCK, source)
        link = find_link(source)
        wording = _first(_PROMOTION, source)
        if block is not None:
            errors[field] = N_(
                "line %(line)s: promotional block %(block)r is not allowed in %(what)s",
                line=block[0],
                block=block[1],
                what=what,
            )
        elif link is not None:
            errors[field] = link_refusal(link)
        elif wording is not None:
            errors[field] = N_(
                "line %(line)s: promotional wording %(wording)r (offer, price or discount) is not allowed in %(what)s",
                line=wording[0],
                wording=wording[1],
                what=what,
            )
    return errors


def problems(
    subject: str, body_html: str, body_text: str, what: str = "a request for consent"
) -> dict[str, str]:
    """The first promotional element of each template, as {field: 'line N: …'}; empty when clean.

    `what` names the message in the refusals (a request for consent, a legal notice)."""
    return _scan(
        {"subject": subject, "body_html": body_html, "body_text": body_text},
        what,
        lambda source: _first(_LINK, source),
        lambda link: N_(
            "line %(line)s: marketing link %(link)r; only {{ confirm_url }} and {{ decline_url }} may be linked",
            line=link[0],
            link=link[1],
        ),
    )


def check(subject: str, body_html: str, body_text: str, what: str = "a request for consent") -> None:
    """Raise ValidationFailed naming each template that carries promotion."""
    errors = problems(subject, body_html, body_text, what)
    if errors:
        raise ValidationFailed(errors)


# Any link a transactional message carries: its host must be one the operator allowed.
_URL = re.compile(r"https?://[^\s\"'<>]*|www\.[^\s\"'<>]*|\bhref\s*=", re.IGNORECASE)


def _foreign_link(source: str, hosts: frozenset[str]) -> tuple[int, str] | None:
    """The first link whose host is not in `hosts` (a host a template expression writes counts as foreign)."""
    for match in _URL.finditer(source):
        found = match.group(0)
        host = urlsplit(found).hostname if found.lower().startswith("http") else None
        if host is None or host.lower() not in hosts:
            return source.count("\n", 0, match.start()) + 1, found
    return None


def transactional_problems(
    fields: Mapping[str, str], hosts: frozenset[str], what: str = "a transactional message"
) -> dict[str, str]:
    """Like problems(), for a transactional message: links are allowed, to `hosts` only, in every field.

    `fields` holds the templates and the variables' values by field name (`variables.reset_url`).
    """
    return _scan(
        fields,
        what,
        lambda source: _foreign_link(source, hosts),
        lambda link: N_(
            "line %(line)s: link %(link)r; a transactional message may only link to %(hosts)s",
            line=link[0],
            link=link[1],
            hosts=", ".join(sorted(hosts)),
        ),
    )
