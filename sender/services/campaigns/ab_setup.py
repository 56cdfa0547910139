"""A draft's A/B test as stored: the test's rules and its variants B to D, each stored whole (ab_tests.py runs it)."""

from __future__ import annotations

from typing import Any

from sender.models import AbTest, Campaign, CampaignVariant
from sender.services.campaigns.schema import CampaignDraft


def store(campaign: Campaign, draft: CampaignDraft) -> None:
    """Give a campaign the draft's A/B test (or none), its variants stored whole; the caller flushes."""
    test = draft.ab_test
    if test is None:
        campaign.ab_test = None
        return
    found = campaign.ab_test or AbTest()
    found.test_percent, found.wait_minutes, found.decide_by = (
        test.test_percent,
        test.wait_minutes,
        test.decide_by,
    )
    # Changed in place by position: a flush inserts before it deletes, and (campaign, position) is unique.
    kept = {v.position: v for v in found.variants}
    found.variants = []
    for position, content in enumerate(draft.variants(), start=1):
        variant = kept.get(position) or CampaignVariant(position=position)
        for name, value in content.items():
            setattr(variant, name, value)
        found.variants.append(variant)
    campaign.ab_test = found


def copy(source: Campaign, target: Campaign) -> None:
    """Give a new draft the same A/B test as `source` (undecided)."""
    test = source.ab_test
    if test is None:
        return
    target.ab_test = AbTest(
        test_percent=test.test_percent,
        wait_minutes=test.wait_minutes,
        decide_by=test.decide_by,
        variants=[
            CampaignVariant(
                position=v.position,
                subject=v.subject,
                body_source=v.body_source,
                body_html=v.body_html,
                body_text=v.body_text,
            )
            for v in test.variants
        ],
    )


def input_of(campaign: Campaign) -> dict[str, Any] | None:
    """The campaign's test as the campaign schema takes it (its variants as stored), or None."""
    test = campaign.ab_test
    if test is None:
        return None
    return {
        "variants": [
            {"subject": v.subject, "body_source": v.body_source, "body_text": v.body_text}
            for v in test.variants
        ],
        "test_percent": test.test_percent,
        "wait_minutes": test.wait_minutes,
        "decide_by": test.decide_by,
    }
