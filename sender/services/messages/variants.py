"""A campaign's contents: its own, or, with an A/B test, one per variant (0 = A, the campaign's own; 1-3 = B-D).

The renderer renders one of them, the tracker records each one's links, the report names them.
"""

from __future__ import annotations

from dataclasses import dataclass

from sender.models import Campaign

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


def name(variant: int | None) -> str:
    """The letter people know a variant by (A for the campaign's own content)."""
    return NAMES[variant or 0]
