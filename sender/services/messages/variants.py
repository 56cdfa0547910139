"""A campaign's contents: its own, or, with an A/B test, one per variant (0 = A, the campaign's own; 1-3 = B-D).

The renderer renders one of them, the tracker records each one's links, the report names them.
"""

from __future__ import annotations

from dataclasses import dataclass

from sender.i18n import N_
from sender.models import Campaign
from sender.services.errors import NotFound

NAMES = "ABCD"


@dataclass(frozen=True)
class Parts:
    """The templates of one content: subject, HTML body and text body."""

    subject: str
    body_html: str
    body_text: str


def own(campaign: Campaign) -> Parts:
    """The campaign's own content (variant A of a test)."""
    return Parts(campaign.subject or "", campaign.body_html or "", campaign.body_text or "")


def contents(campaign: Campaign) -> dict[int | None, Parts]:
    """Each content by variant: {None: own} without a test, {0: A, 1: B, …} with one."""
    if campaign.ab_test is None:
        return {None: own(campaign)}
    found: dict[int | None, Parts] = {0: own(campaign)}
    for variant in campaign.ab_test.variants:
        found[variant.position] = Parts(variant.subject, variant.body_html, variant.body_text)
    return found


def parts(campaign: Campaign, variant: int | None) -> Parts:
    """The content a variant renders: its own with a test's variant, else the campaign's."""
    return contents(campaign)[variant] if variant is not None else own(campaign)


def named(campaign: Campaign, letter: str | None) -> int | None:
    """The variant a person names by letter, as the worker renders it; none named is A (or no test at all).

    NotFound for a letter the campaign has no content for (B without a test, D with two variants)."""
    known = contents(campaign)
    if not letter:
        return next(iter(known))
    if campaign.ab_test is None and letter == NAMES[0]:
        # Without a test, A is the campaign's own content, which the worker renders with no variant.
        return None
    if letter in tuple(NAMES) and NAMES.index(letter) in known:
        return NAMES.index(letter)
    raise NotFound(N_("no such variant"))


def name(variant: int | None) -> str:
    """The letter people know a variant by (A for the campaign's own content)."""
    return NAMES[variant or 0]
