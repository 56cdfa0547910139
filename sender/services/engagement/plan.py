"""What a batch needs to rewrite its messages' links: the campaign's mode, its links and who consented.

Built once per batch in the worker (`for_batch`), then used by every render of the batch without a query.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.config import Settings
from sender.db import utcnow
from sender.enums import CampaignKind, DeliveryStatus, TrackingMode
from sender.models import Campaign, Delivery
from sender.services.consent import links as consent_links
from sender.services.consent import tracking
from sender.services.engagement import links
from sender.services.messages import variants
from sender.tokens import TokenService


@dataclass(frozen=True)
class Rewrite:
    """What one message gets: where its known links go, its pixel, and its link to withdraw tracking."""

    target: dict[str, str]
    pixel: str | None = None
    withdraw_url: str | None = None


@dataclass(frozen=True)
class TrackingPlan:
    """A campaign's tracking for one batch; `off` rewrites nothing."""

    mode: str
    base_url: str = ""
    tokens: TokenService | None = None
    campaign_id: int = 0
    channel: str = ""
    links: Mapping[int | None, Mapping[str, int]] = field(default_factory=dict)
    consenting: frozenset[int] = frozenset()
    tracking_purpose_id: int | None = None

    def for_message(
        self, contact_id: int, contact_public_id: str, delivery_id: int, variant: int | None
    ) -> Rewrite:
        """The rewrite of one message: per-person only for a contact who consented, else aggregate."""
        if self.mode == TrackingMode.OFF or self.tokens is None:
            return Rewrite({})
        tokens = self.tokens
        person = self.mode == TrackingMode.PER_PERSON and contact_id in self.consenting
        known = self.links.get(variant, {})
        target: dict[str, str] = {}
        for url, link_id in known.items():
            payload: dict[str, int] = {"l": link_id}
            if person:
                payload["d"] = delivery_id
            target[url] = f"{self.base_url}/r/{tokens.dumps('click', payload)}"
        if not person or self.tracking_purpose_id is None:
            return Rewrite(target)
        opened: dict[str, int] = {"d": delivery_id}
        if variant is not None:
            opened["v"] = variant
        pixel = f"{self.base_url}/r/o/{tokens.dumps('open', opened)}"
        # Withdrawing tracking is the unsubscribe link of the tracking purpose: one click, through the ledger.
        withdraw = consent_links.unsubscribe_url_for(
            self.base_url, tokens, contact_public_id, self.tracking_purpose_id, self.channel, self.campaign_id
        )
        return Rewrite(target, pixel, withdraw)


OFF = TrackingPlan(TrackingMode.OFF)


def tracked(campaign: Campaign) -> bool:
    """Whether a campaign measures anything: only marketing campaigns ever do."""
    return campaign.kind == CampaignKind.MARKETING and campaign.tracking_mode != TrackingMode.OFF


def record_links(
    session: Session, settings: Settings, campaign: Campaign, contents: Mapping[int | None, variants.Parts]
) -> None:
    """At launch: record the links of a tracked campaign's `contents` (variants.contents), each A/B variant's
    apart (the redirect's only targets, and the clicks that choose a test's winner)."""
    if tracked(campaign):
        for variant, parts in contents.items():
            sources = links.sources_of(campaign, parts)
            links.ensure(session, campaign.id, variant, sources, settings.public_base_url)


def for_batch(
    session: Session, settings: Settings, tokens: TokenService, campaign: Campaign, batch_no: int
) -> TrackingPlan:
    """The tracking plan of one batch: its campaign's links and which of its people consented to tracking."""
    if not tracked(campaign):
        return OFF
    consenting: frozenset[int] = frozenset()
    purpose = tracking.purpose(session)
    if campaign.tracking_mode == TrackingMode.PER_PERSON and purpose is not None:
        people = session.scalars(
            select(Delivery.contact_id).where(
                Delivery.campaign_id == campaign.id,
                Delivery.batch_no == batch_no,
                Delivery.status == DeliveryStatus.QUEUED,
            )
        ).all()
        consenting = tracking.consenting(session, campaign.channel, people, utcnow())
    return TrackingPlan(
        mode=campaign.tracking_mode,
        base_url=settings.public_base_url,
        tokens=tokens,
        campaign_id=campaign.id,
        channel=campaign.channel,
        links=links.of_campaign(session, campaign.id),
        consenting=consenting,
        tracking_purpose_id=purpose.id if purpose is not None else None,
    )
