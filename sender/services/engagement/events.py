"""Recording a click or an open from a tracked link or pixel: one event, and for a person's click the clock.

A link is followed only if its signed token names a recorded link of the campaign (and, per person, a
delivery of that same campaign): anything else is NotFound and records nothing, so the redirect is never
open. The delivery is kept only while the person's tracking consent stands and the click came from them;
every other event names no one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from redis import Redis
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from sender.config import Settings
from sender.enums import EngagementClass, EngagementKind
from sender.i18n import N_
from sender.models import Campaign, CampaignLink, Contact, Delivery, EngagementEvent
from sender.services.audience import interactions
from sender.services.consent import tracking
from sender.services.engagement import classify, visitors
from sender.services.engagement.classify import Visit
from sender.services.errors import NotFound
from sender.tokens import TokenInvalid, TokenService

# A visitor following every link of a message within this many seconds is a scanner, not a reader (R57).
BURST_SECONDS = 5


@dataclass(frozen=True)
class Recorded:
    """What a request recorded: the event's class, and whether it named the person's delivery."""

    classification: str
    personal: bool


def _id(payload: dict[str, Any], name: str, *, required: bool) -> int | None:
    value = payload.get(name)
    if value is None and not required:
        return None
    # bool is an int subclass: a forged `true` is no id.
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise NotFound(N_("no such link"))
    return value


def _read(tokens: TokenService, kind: str, token: str) -> dict[str, Any]:
    try:
        return tokens.loads(kind, token)
    except TokenInvalid:
        raise NotFound(N_("no such link")) from None


def _delivery(session: Session, delivery_id: int, campaign_id: int | None) -> Any:
    row = session.execute(
        select(Delivery.campaign_id, Delivery.contact_id, Delivery.sent_at, Campaign.channel)
        .join(Campaign, Campaign.id == Delivery.campaign_id)
        .where(Delivery.id == delivery_id)
    ).one_or_none()
    # A delivery of another campaign than the link's is a forged pairing.
    if row is None or (campaign_id is not None and row.campaign_id != campaign_id):
        raise NotFound(N_("no such link"))
    return row


def _burst(session: Session, event: EngagementEvent) -> bool:
    """Whether this click completes one visitor's clicks on every link of its message within BURST_SECONDS."""
    since = event.occurred_at - timedelta(seconds=BURST_SECONDS)
    # One message's links: an A/B test's variants are different messages (two readers of different
    # variants behind one address and browser are not a scanner).
    same_message = (
        EngagementEvent.variant.is_(None)
        if event.variant is None
        else EngagementEvent.variant == event.variant
    )
    window = (
        EngagementEvent.campaign_id == event.campaign_id,
        EngagementEvent.kind == EngagementKind.CLICK,
        EngagementEvent.visitor_key == event.visitor_key,
        EngagementEvent.occurred_at >= since,
        same_message,
    )
    variant = (
        CampaignLink.variant.is_(None) if event.variant is None else CampaignLink.variant == event.variant
    )
    links_of_message = (
        select(func.count()).where(CampaignLink.campaign_id == event.campaign_id, variant).scalar_subquery()
    )
    # One round trip: the links this visitor just clicked, each beside the number of links of the message.
    rows = session.execute(select(EngagementEvent.link_id, links_of_message).where(*window).distinct()).all()
    clicked = {link_id for link_id, _ in rows} | {event.link_id}
    total = rows[0][1] if rows else 0
    if len(clicked) < 2 or len(clicked) < total:
        return False
    # The earlier clicks of the burst were the scanner's too.
    session.execute(
        update(EngagementEvent)
        .where(*window)
        .values(classification=EngagementClass.SCANNER, delivery_id=None)
        .execution_options(synchronize_session=False)
    )
    return True


def click(
    session: Session, settings: Settings, tokens: TokenService, redis: Redis, token: str, visit: Visit
) -> tuple[str, Recorded]:
    """Record a click on a tracked link and return its target; NotFound for anything not ours."""
    payload = _read(tokens, "click", token)
    link_id = _id(payload, "l", required=True)
    delivery_id = _id(payload, "d", required=False)
    link = session.execute(
        select(CampaignLink.campaign_id, CampaignLink.variant, CampaignLink.url).where(
            CampaignLink.id == link_id
        )
    ).one_or_none()
    if link is None:
        raise NotFound(N_("no such link"))
    delivery = _delivery(session, delivery_id, link.campaign_id) if delivery_id is not None else None
    classification = classify.click(settings, visit, delivery.sent_at if delivery is not None else None)
    personal = (
        delivery is not None
        and classification == EngagementClass.HUMAN
        and tracking.allows(session, delivery.contact_id, delivery.channel, visit.at)
    )
    salt = visitors.salt(redis, visit.at.date())
    key = (
        visitors.key(salt, "delivery", str(delivery_id))
        if personal
        else visitors.key(salt, visit.address, visit.user_agent)
    )
    event = EngagementEvent(
        campaign_id=link.campaign_id,
        variant=link.variant,
        link_id=link_id,
        delivery_id=delivery_id if personal else None,
        kind=EngagementKind.CLICK,
        classification=classification,
        occurred_at=visit.at,
        visitor_key=key,
    )
    if classification == EngagementClass.HUMAN and _burst(session, event):
        event.classification, event.delivery_id, personal = EngagementClass.SCANNER, None, False
    session.add(event)
    if personal and delivery is not None:
        contact = session.get(Contact, delivery.contact_id)
        if contact is not None:
            # A person's own click: the retention clock moves through the one interactions rule (R47).
            interactions.record(session, settings, contact, "click", at=visit.at, delivery_id=delivery_id)
    return link.url, Recorded(event.classification, personal)


def open_(session: Session, tokens: TokenService, redis: Redis, token: str, visit: Visit) -> Recorded:
    """Record an open from a tracked pixel; NotFound for anything not ours. Opens never move the clock."""
    payload = _read(tokens, "open", token)
    delivery_id = _id(payload, "d", required=True)
    assert delivery_id is not None  # required above
    variant = payload.get("v")
    if variant is not None and (isinstance(variant, bool) or not isinstance(variant, int)):
        raise NotFound(N_("no such link"))
    delivery = _delivery(session, delivery_id, None)
    classification = classify.open_(visit)
    personal = classification == EngagementClass.HUMAN and tracking.allows(
        session, delivery.contact_id, delivery.channel, visit.at
    )
    salt = visitors.salt(redis, visit.at.date())
    session.add(
        EngagementEvent(
            campaign_id=delivery.campaign_id,
            variant=variant,
            delivery_id=delivery_id if personal else None,
            kind=EngagementKind.OPEN,
            classification=classification,
            occurred_at=visit.at,
            visitor_key=visitors.key(salt, "delivery", str(delivery_id)),
        )
    )
    return Recorded(classification, personal)
