"""The circuit breaker: a campaign whose complaint or hard-bounce rate reaches its threshold is paused.

Mailbox providers start rejecting a domain's mail past 0.3 % of spam complaints (Gmail, Yahoo) and look
hard at bounce rates; the thresholds are settings (COMPLAINT_WARN_RATE 0.1 %, COMPLAINT_PAUSE_RATE 0.3 %,
BOUNCE_WARN_RATE 2 %, BOUNCE_PAUSE_RATE 5 %). Rates are over the messages sent in the last
BREAKER_WINDOW_HOURS (rates.py), for the campaign and for its sending domain; under BREAKER_MIN_SENT
messages in the window nothing trips, so one bounce out of three sent pauses nothing.

It is evaluated before each send batch claims work (campaigns.launch.run_batch) and every minute by
`sender deliverability breaker` (a duty of `sender cron`), not on each report applied: counting a campaign's
messages per report would cost the report doors their throughput, and a minute is well inside the hours a
provider takes to react. The pause goes through the state machine (states.PAUSE, recording the reason in
`campaign.paused_reason`) and the audit trail; only a person resumes (launch.resume clears the reason), and
the breaker then counts that campaign's messages from the resume on, or it would pause it again at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.config import Settings
from sender.db import utcnow
from sender.enums import BreakerTrip, CampaignStatus, Channel
from sender.models import Campaign
from sender.services.campaigns import states
from sender.services.deliverability import rates
from sender.services.deliverability.dns_check import from_domain
from sender.services.records import audit

ACTOR = "circuit-breaker"
OK, WARNING, PAUSE = "ok", "warning", "pause"


@dataclass(frozen=True)
class Trip:
    """A campaign paused by the breaker: which rate, over what (the campaign or its domain), how high."""

    campaign_id: int
    reason: BreakerTrip
    scope: str
    rate: float
    threshold: float
    sent: int


def since(settings: Settings, now: datetime | None = None) -> datetime:
    """The start of the sliding window."""
    return (now or utcnow()) - timedelta(hours=settings.guard.breaker_window_hours)


def tripped(settings: Settings, found: rates.Rates) -> tuple[BreakerTrip, float, float] | None:
    """The rate that reached its pause threshold (reason, rate, threshold), if the sample is large enough."""
    guard = settings.guard
    if found.sent < guard.breaker_min_sent:
        return None
    if found.complaint_rate >= guard.complaint_pause:
        return BreakerTrip.COMPLAINTS, found.complaint_rate, guard.complaint_pause
    if found.hard_bounce_rate >= guard.bounce_pause:
        return BreakerTrip.HARD_BOUNCES, found.hard_bounce_rate, guard.bounce_pause
    return None


def level(settings: Settings, found: rates.Rates, kind: BreakerTrip) -> str:
    """OK, WARNING or PAUSE for one rate against its thresholds (OK below the minimum sample)."""
    guard = settings.guard
    if found.sent < guard.breaker_min_sent:
        return OK
    if kind == BreakerTrip.COMPLAINTS:
        rate, warn, pause = found.complaint_rate, guard.complaint_warn, guard.complaint_pause
    else:
        rate, warn, pause = found.hard_bounce_rate, guard.bounce_warn, guard.bounce_pause
    return PAUSE if rate >= pause else WARNING if rate >= warn else OK


def guard(session: Session, settings: Settings, campaign_id: int, now: datetime | None = None) -> Trip | None:
    """Pause a sending email campaign if its rates or its domain's tripped; the Trip if it did. Caller commits.

    `settings` are the effective ones (organisation.effective_settings): the From address names the domain.
    """
    campaign = session.get(Campaign, campaign_id)
    if campaign is None or campaign.status != CampaignStatus.SENDING or campaign.channel != Channel.EMAIL:
        return None
    start = since(settings, now)
    if campaign.resumed_at is not None and campaign.resumed_at > start:
        start = campaign.resumed_at  # a person resumed it: count from then
    found = rates.campaign_window(session, campaign_id, start)
    scope, hit = "campaign", tripped(settings, found)
    if hit is None:
        found = rates.domain_window(session, from_domain(settings), start)
        scope, hit = "domain", tripped(settings, found)
    if hit is None:
        return None
    reason, rate, threshold = hit
    if not states.advance(session, campaign_id, states.PAUSE, paused_reason=reason):
        return None  # paused, finished or cancelled meanwhile
    trip = Trip(campaign_id, reason, scope, round(rate, 3), threshold, found.sent)
    audit.record(
        session,
        ACTOR,
        "campaign.paused",
        "campaign",
        campaign_id,
        {
            "reason": reason,
            "scope": scope,
            "rate_percent": trip.rate,
            "threshold_percent": threshold,
            "sent_in_window": found.sent,
            "window_hours": settings.guard.breaker_window_hours,
        },
    )
    session.expire(campaign)
    return trip


def sweep(session: Session, settings: Settings) -> list[Trip]:
    """Evaluate every sending email campaign; the ones paused. The caller commits."""
    sending = session.scalars(
        select(Campaign.id)
        .where(Campaign.status == CampaignStatus.SENDING, Campaign.channel == Channel.EMAIL)
        .order_by(Campaign.id)
    ).all()
    now = utcnow()
    return [trip for cid in sending if (trip := guard(session, settings, cid, now)) is not None]


@dataclass(frozen=True)
class Standing:
    """Rates over the window and their level against the thresholds, for a domain or a campaign."""

    name: str
    campaign_id: int | None
    rates: rates.Rates
    complaints: str
    hard_bounces: str


def board(session: Session, settings: Settings, now: datetime | None = None) -> list[Standing]:
    """The dashboard's view: every sending domain with reports in the window (and the From domain), then the
    campaigns whose rates are at a warning or past a pause threshold."""
    start = since(settings, now)

    def standing(name: str, campaign_id: int | None, found: rates.Rates) -> Standing:
        return Standing(
            name,
            campaign_id,
            found,
            level(settings, found, BreakerTrip.COMPLAINTS),
            level(settings, found, BreakerTrip.HARD_BOUNCES),
        )

    rows = [
        standing(domain, None, found)
        for domain, found in rates.by_domain(session, start, [from_domain(settings)]).items()
    ]
    for campaign_id, name in rates.campaigns_reported_since(session, start):
        row = standing(name, campaign_id, rates.campaign_window(session, campaign_id, start))
        if (row.complaints, row.hard_bounces) != (OK, OK):
            rows.append(row)
    return rows
