"""Requalification campaigns (R49, R50): a request for consent with a deadline, checked, and approved by the DPO.

A requalification campaign is a campaign of kind `requalification` plus its cycle row: the deadline chosen
by the marketer, the consent wording version the message asks for, and the DPO approval (who, when, note)
without which it cannot start. Its content carries no promotion (services/messages/promotion.py) and gets
the confirm and decline links from the system. `sender requalify run` plans and closes it
(services/campaigns/requalify_cycle.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.orm import Session

from sender.channels.base import get_channel
from sender.config import Settings
from sender.db import utcnow
from sender.enums import (
    AskStatus,
    CampaignKind,
    CampaignStatus,
    Channel,
    ConsentStatus,
    ContactStatus,
    CycleState,
)
from sender.i18n import N_
from sender.models import (
    Campaign,
    ConsentState,
    ConsentWording,
    Contact,
    Purpose,
    Requalification,
    RequalificationAsk,
)
from sender.services.accounts import organisation
from sender.services.campaigns import states
from sender.services.consent import gate
from sender.services.consent.expiry import lapsed_clause
from sender.services.errors import Conflict, Forbidden, NotFound, ValidationFailed
from sender.services.messages import promotion
from sender.services.messages.rendering import ASK_VARIABLES, AskContext
from sender.services.messages.sandbox import validate_content
from sender.services.records import audit

KIND = CampaignKind.REQUALIFICATION
# A cycle is open until it is closed at its deadline (sent) or cancelled.
OPEN = tuple(s for s in CampaignStatus if s != CampaignStatus.CANCELLED)


@dataclass(frozen=True)
class Draft:
    """A requalification campaign to create."""

    name: str
    purpose: str
    subject: str
    body_text: str
    body_html: str = ""
    deadline: datetime | None = None  # naive UTC; None: REQUALIFICATION_DEADLINE_DAYS from now


@dataclass(frozen=True)
class Funnel:
    """What a cycle produced: asked, and what became of each question."""

    asked: int
    waiting: int
    confirmed: int
    declined: int
    erased: int
    archived: int
    excluded: int


def _latest_wording(session: Session, purpose: Purpose) -> ConsentWording | None:
    return session.scalar(
        select(ConsentWording)
        .where(ConsentWording.purpose_id == purpose.id)
        .order_by(ConsentWording.version.desc())
        .limit(1)
    )


def create(
    session: Session, settings: Settings, draft: Draft, actor: str, now: datetime | None = None
) -> Campaign:
    """Create a draft requalification campaign; 422 per field for a past deadline or promotional content."""
    now = now or utcnow()
    errors: dict[str, str] = {}
    purpose = session.scalar(select(Purpose).where(Purpose.slug == draft.purpose))
    wording = None
    if purpose is None:
        errors["purpose"] = N_("no purpose %(slug)r", slug=draft.purpose)
    elif purpose.legal_basis != "consent":
        errors["purpose"] = N_("requalification asks for consent: the purpose must rest on consent")
    else:
        wording = _latest_wording(session, purpose)
        if wording is None:
            errors["purpose"] = N_("the purpose has no consent wording to ask for; add one first")
    deadline = draft.deadline or now + timedelta(days=settings.requalification_deadline_days)
    if deadline <= now:
        errors["deadline"] = N_(
            "must be in the future (now is %(now)sZ)", now=now.isoformat(timespec="seconds")
        )
    try:
        validate_content(draft.subject, draft.body_html, draft.body_text, ASK_VARIABLES)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    for field, problem in promotion.problems(draft.subject, draft.body_html, draft.body_text).items():
        errors.setdefault(field, problem)
    if errors:
        raise ValidationFailed(errors)
    assert purpose is not None and wording is not None
    if _open_cycle(session, purpose.id) is not None:
        raise Conflict(
            N_("this purpose already has an open requalification cycle; one message per person and cycle")
        )
    campaign = Campaign(
        name=draft.name,
        purpose_id=purpose.id,
        channel=Channel.EMAIL,
        kind=KIND,
        subject=draft.subject,
        body_html=draft.body_html,
        body_text=draft.body_text,
        created_by=actor,
    )
    session.add(campaign)
    session.flush()
    session.add(Requalification(campaign_id=campaign.id, deadline=deadline, wording_version=wording.version))
    session.flush()
    audit.record(
        session,
        actor,
        "requalification.create",
        "campaign",
        campaign.id,
        {"purpose": purpose.slug, "deadline": deadline.isoformat(), "wording_version": wording.version},
    )
    return campaign


def _open_cycle(session: Session, purpose_id: int) -> int | None:
    return session.scalar(
        select(Campaign.id)
        .join(Requalification, Requalification.campaign_id == Campaign.id)
        .where(
            Campaign.purpose_id == purpose_id,
            Campaign.status.in_(OPEN),
            Requalification.closed_at.is_(None),
        )
        .limit(1)
    )


def cycle_of(session: Session, campaign: Campaign) -> Requalification:
    """The cycle row of a requalification campaign; Conflict for any other kind."""
    cycle = session.get(Requalification, campaign.id) if campaign.kind == KIND else None
    if cycle is None:
        raise Conflict(N_("campaign %(id)s is not a requalification campaign", id=campaign.id))
    return cycle


def approve(
    session: Session, settings: Settings, campaign_id: int, actor: str, note: str, now: datetime | None = None
) -> Requalification:
    """Record the DPO's approval (who, when, note); the author may not approve their own when so configured."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(N_("no such campaign"))
    cycle = cycle_of(session, campaign)
    if cycle.approved_at is not None:
        raise Conflict(
            N_(
                "already approved by %(approved_by)s at %(approved_at)sZ",
                approved_by=cycle.approved_by,
                approved_at=cycle.approved_at.isoformat(),
            )
        )
    if campaign.status != CampaignStatus.DRAFT:
        raise Conflict(N_("campaign is %(status)s; only a draft can be approved", status=campaign.status))
    if settings.requalification_separate_approval and campaign.created_by == actor:
        raise Forbidden(
            N_(
                "the campaign's author may not approve it (REQUALIFICATION_SEPARATE_APPROVAL): another DPO must"
            )
        )
    cycle.approved_by, cycle.approved_at, cycle.approval_note = actor, now or utcnow(), note
    session.flush()
    audit.record(session, actor, "requalification.approve", "campaign", campaign.id, {"note": note[:300]})
    return cycle


def start(session: Session, campaign: Campaign, now: datetime | None = None) -> None:
    """Open the cycle once the DPO approved it, before its deadline: the campaign becomes sending and the
    next `requalify run` asks; the caller records the start (launch.send, in the send's journal) and commits.

    `campaign` is a requalification campaign (`launch.send` chose this path by its kind), created with its
    cycle: the cycle is read as it is, without `cycle_of`'s check of the kind for any campaign id.
    """
    now = now or utcnow()
    cycle = session.get_one(Requalification, campaign.id)
    errors: dict[str, str] = {}
    if cycle.approved_at is None:
        errors["approval"] = N_("a requalification campaign cannot start without the DPO's approval (R50)")
    if cycle.deadline <= now:
        errors["deadline"] = N_("the deadline %(deadline)sZ has passed", deadline=cycle.deadline.isoformat())
    if errors:
        raise ValidationFailed(errors)
    states.move(session, campaign, states.OPEN, launched_at=now)


def funnel(session: Session, campaign_id: int) -> Funnel:
    """The funnel of one cycle, counted from its asks."""
    return funnels(session, [campaign_id])[campaign_id]


def funnels(session: Session, campaign_ids: list[int]) -> dict[int, Funnel]:
    """The funnels of several cycles in one grouped count (the list page shows one per cycle)."""
    counts: dict[int, dict[str, int]] = {cid: {} for cid in campaign_ids}
    if campaign_ids:
        rows = session.execute(
            select(RequalificationAsk.campaign_id, RequalificationAsk.status, func.count())
            .where(RequalificationAsk.campaign_id.in_(campaign_ids))
            .group_by(RequalificationAsk.campaign_id, RequalificationAsk.status)
        ).all()
        for campaign_id, status, count in rows:
            counts[campaign_id][status] = count
    return {
        cid: Funnel(
            asked=sum(by_status.values()),
            waiting=by_status.get(AskStatus.ASKED, 0),
            confirmed=by_status.get(AskStatus.CONFIRMED, 0),
            declined=by_status.get(AskStatus.DECLINED, 0),
            erased=by_status.get(AskStatus.ERASED, 0),
            archived=by_status.get(AskStatus.ARCHIVED, 0),
            excluded=by_status.get(AskStatus.EXCLUDED, 0),
        )
        for cid, by_status in counts.items()
    }


def cycle_state(campaign: Campaign, cycle: Requalification) -> CycleState:
    """Where the cycle stands: open from its start until the run after its deadline closes it."""
    if campaign.status == CampaignStatus.CANCELLED:
        return CycleState.CANCELLED
    if cycle.closed_at is not None:
        return CycleState.CLOSED
    if campaign.status != CampaignStatus.DRAFT:
        return CycleState.OPEN
    return CycleState.APPROVED if cycle.approved_at is not None else CycleState.AWAITING_APPROVAL


def cycles_of(session: Session, campaign_ids: list[int]) -> dict[int, Requalification]:
    """The cycle rows of those of these campaigns that are requalification cycles."""
    if not campaign_ids:
        return {}
    rows = session.scalars(select(Requalification).where(Requalification.campaign_id.in_(campaign_ids)))
    return {cycle.campaign_id: cycle for cycle in rows}


def cycles(session: Session, limit: int = 500) -> list[tuple[Campaign, Requalification]]:
    """Requalification campaigns with their cycle rows, newest first."""
    rows = session.execute(
        select(Campaign, Requalification)
        .join(Requalification, Requalification.campaign_id == Campaign.id)
        .order_by(Campaign.id.desc())
        .limit(limit)
    ).all()
    return [(row.Campaign, row.Requalification) for row in rows]


def awaiting_approval(session: Session) -> list[tuple[Campaign, Requalification]]:
    """Draft cycles the DPO has not approved yet, the nearest deadline first (the DPO's queue)."""
    rows = session.execute(
        select(Campaign, Requalification)
        .join(Requalification, Requalification.campaign_id == Campaign.id)
        .where(Campaign.status == CampaignStatus.DRAFT, Requalification.approved_at.is_(None))
        .order_by(Requalification.deadline, Campaign.id)
    ).all()
    return [(row.Campaign, row.Requalification) for row in rows]


def due_condition(state: type[ConsentState], purpose: Purpose, at: datetime) -> ColumnElement[bool]:
    """SQL: the contact is due for requalification for this purpose (`state` outer-joined for it)."""
    clock = func.coalesce(Contact.last_interaction_at, Contact.created_at)
    granted = state.status == ConsentStatus.GRANTED
    return or_(
        # Imported without proof of consent, and never granted since.
        and_(Contact.is_legacy.is_(True), or_(state.status.is_(None), ~granted)),
        # Consent past its validity.
        and_(granted, lapsed_clause(state.expires_at, at)),
        # Nothing from the person for longer than the purpose's retention (opens and sends never count).
        and_(granted, clock <= at - timedelta(days=purpose.retention_days)),
    )


def preview(session: Session, campaign: Campaign, at: datetime) -> dict[str | None, int]:
    """Who is due and not yet asked in this cycle, by the "may be asked" rule's refusal (None = would be asked)."""
    purpose = session.get(Purpose, campaign.purpose_id)
    assert purpose is not None
    state = gate.state_alias()
    channel = get_channel(campaign.channel)
    reason = gate.ask_reason_expression(state, channel).label("reason")
    asked = exists().where(
        RequalificationAsk.campaign_id == campaign.id, RequalificationAsk.contact_id == Contact.id
    )
    due = (
        select(reason)
        .select_from(Contact)
        .outerjoin(state, gate.state_join(state, purpose.id, channel))
        .where(Contact.status != ContactStatus.ERASED, due_condition(state, purpose, at), ~asked)
        .subquery()
    )
    rows = session.execute(select(due.c.reason, func.count()).group_by(due.c.reason)).all()
    return {row[0]: row[1] for row in rows}


def message_context(session: Session, campaign: Campaign) -> AskContext | None:
    """What the renderer states in a requalification message, its deadline in the organisation's zone (None
    for other kinds)."""
    if campaign.kind != KIND:
        return None
    cycle = cycle_of(session, campaign)
    wording = session.scalar(
        select(ConsentWording).where(
            ConsentWording.purpose_id == campaign.purpose_id, ConsentWording.version == cycle.wording_version
        )
    )
    return AskContext(
        cycle.deadline, cycle.wording_version, wording.text if wording else "", organisation.zone(session)
    )
