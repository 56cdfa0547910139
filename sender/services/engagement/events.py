"""Recording a click or an open from a tracked link or pixel: one event, and for a person's click the clock.

A link is followed only if its signed token names a recorded link of the campaign (and, per person, a
delivery of that same campaign): anything else is NotFound and records nothing, so the redirect is never
open. The delivery is kept only while the person's tracking consent stands and the click came from them;
every other event names no one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, cast

from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import ColumnElement, DateTime, Integer, Select, bindparam, func, select, update
from sqlalchemy.orm import Session, aliased

from sender.config import Settings
from sender.enums import EngagementClass, EngagementKind
from sender.i18n import N_
from sender.models import Campaign, CampaignLink, ConsentState, Contact, Delivery, EngagementEvent
from sender.services.audience import interactions
from sender.services.consent import tracking
from sender.services.engagement import classify, visitors
from sender.services.engagement.classify import Visit
from sender.services.errors import NotFound
from sender.tokens import TokenInvalid, TokenService

# A visitor following every link of a message within this many seconds is a scanner, not a reader (R57).
BURST_SECONDS = 5
# Redis sorted sets of the links each visitor clicked in a message within BURST_SECONDS (see _burst_in_redis).
BURST_KEY = "sender:engagement-burst:"


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


def _window(event: EngagementEvent) -> tuple[ColumnElement[bool], ...]:
    """The clicks of this event's visitor on its message within BURST_SECONDS before it."""
    since = event.occurred_at - timedelta(seconds=BURST_SECONDS)
    # One message's links: an A/B test's variants are different messages (two readers of different
    # variants behind one address and browser are not a scanner).
    same_message = (
        EngagementEvent.variant.is_(None)
        if event.variant is None
        else EngagementEvent.variant == event.variant
    )
    return (
        EngagementEvent.campaign_id == event.campaign_id,
        EngagementEvent.kind == EngagementKind.CLICK,
        EngagementEvent.visitor_key == event.visitor_key,
        EngagementEvent.occurred_at >= since,
        same_message,
    )


def _burst(session: Session, event: EngagementEvent) -> bool:
    """Whether this click completes one visitor's clicks on every link of its message within BURST_SECONDS,
    asked of the database (when Redis, which keeps the windows, cannot answer)."""
    window = _window(event)
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
    _reclassify_burst(session, event)
    return True


def _reclassify_burst(session: Session, event: EngagementEvent) -> None:
    """The earlier clicks of a burst were the scanner's too: counted apart, naming no one."""
    session.execute(
        update(EngagementEvent)
        .where(*_window(event))
        .values(classification=EngagementClass.SCANNER, delivery_id=None)
        .execution_options(synchronize_session=False)
    )


@cache
def _click_statement() -> Select[Any]:
    """The one statement a click reads: its link, the number of links of its message, and for a per-person
    token the delivery with its campaign and whether the person may be tracked now (the gate's rule)."""
    # Built once per process (SQLAlchemy statements are immutable): a click pays no construction.
    other = aliased(CampaignLink)
    links_of_message = (
        select(func.count())
        .where(
            other.campaign_id == CampaignLink.campaign_id,
            other.variant.is_not_distinct_from(CampaignLink.variant),
        )
        .scalar_subquery()
    )
    state = aliased(ConsentState)
    # The moment of the click, bound at execution (`at`) so that the statement is built only once.
    at = cast(datetime, bindparam("at", type_=DateTime()))
    join, reason = tracking.reason_on_channel(state, Campaign.channel, at)
    return (
        select(
            CampaignLink.campaign_id,
            CampaignLink.variant,
            CampaignLink.url,
            links_of_message.label("links"),
            Delivery.id.label("delivery_id"),
            Delivery.campaign_id.label("delivery_campaign_id"),
            Delivery.contact_id,
            Delivery.sent_at,
            reason.label("reason"),
        )
        .select_from(CampaignLink)
        .outerjoin(Delivery, Delivery.id == bindparam("delivery_id", type_=Integer()))
        .outerjoin(Campaign, Campaign.id == Delivery.campaign_id)
        .outerjoin(Contact, Contact.id == Delivery.contact_id)
        .outerjoin(state, join)
        .where(CampaignLink.id == bindparam("link_id", type_=Integer()))
    )


def _burst_in_redis(redis: Redis, event: EngagementEvent, links: int, *, judge: bool) -> bool | None:
    """Record the click in the visitor's window of BURST_SECONDS and say whether it completes a burst.

    One sorted set per visitor and message (the visitor key is already an anonymous daily hash) holds each
    link clicked with the last moment it was; one atomic round trip drops what left the window, adds this
    click and counts the links in it. Whether the SQL must be asked (which earlier clicks to reclassify) is
    known without reading a row. None when Redis cannot answer: the caller asks the database instead.
    """
    variant = "-" if event.variant is None else str(event.variant)
    name = f"{BURST_KEY}{event.campaign_id}:{variant}:{event.visitor_key}"
    # Seconds since the epoch of the naive UTC moment, the same in every process whatever its time zone.
    now = event.occurred_at.replace(tzinfo=UTC).timestamp()
    try:
        pipe = redis.pipeline(transaction=True)
        pipe.zremrangebyscore(name, "-inf", f"({now - BURST_SECONDS}")
        pipe.zadd(name, {str(event.link_id): now})
        pipe.zcard(name)
        pipe.expire(name, BURST_SECONDS + 1)
        clicked = int(pipe.execute()[2])
    except RedisError:
        return None
    return judge and 2 <= clicked >= links


def click(
    session: Session, settings: Settings, tokens: TokenService, redis: Redis, token: str, visit: Visit
) -> tuple[str, Recorded]:
    """Record a click on a tracked link and return its target; NotFound for anything not ours."""
    payload = _read(tokens, "click", token)
    link_id = _id(payload, "l", required=True)
    delivery_id = _id(payload, "d", required=False)
    row = session.execute(
        _click_statement(), {"link_id": link_id, "delivery_id": delivery_id, "at": visit.at}
    ).one_or_none()
    if row is None:
        raise NotFound(N_("no such link"))
    # A delivery of another campaign than the link's is a forged pairing.
    if delivery_id is not None and row.delivery_campaign_id != row.campaign_id:
        raise NotFound(N_("no such link"))
    classification = classify.click(settings, visit, row.sent_at if delivery_id is not None else None)
    personal = delivery_id is not None and classification == EngagementClass.HUMAN and row.reason is None
    salt = visitors.salt(redis, visit.at.date())
    key = (
        visitors.key(salt, "delivery", str(delivery_id))
        if personal
        else visitors.key(salt, visit.address, visit.user_agent)
    )
    event = EngagementEvent(
        campaign_id=row.campaign_id,
        variant=row.variant,
        link_id=link_id,
        delivery_id=delivery_id if personal else None,
        kind=EngagementKind.CLICK,
        classification=classification,
        occurred_at=visit.at,
        visitor_key=key,
    )
    human = classification == EngagementClass.HUMAN
    # A message of one link has no burst to complete; every other click enters its visitor's window.
    burst = _burst_in_redis(redis, event, row.links, judge=human) if row.links >= 2 else False
    if burst is None:
        burst = human and _burst(session, event)
    elif burst:
        _reclassify_burst(session, event)
    if burst:
        event.classification, event.delivery_id, personal = EngagementClass.SCANNER, None, False
    session.add(event)
    if personal:
        # A person's own click: the retention clock moves through the one interactions rule (R47).
        interactions.move_clock(session, row.contact_id, visit.at)
    return row.url, Recorded(event.classification, personal)


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
