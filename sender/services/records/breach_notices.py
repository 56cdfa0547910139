"""The Art. 34 communication of a breach: a `legal_notice` campaign recorded against its incident.

It is planned under the gate's "must be told" rule (no marketing consent; never erased contacts), carries
no promotion (the requalification linter), and launches only once the DPO approved the very content that
goes out, as requalification cycles are approved (who, when, note).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sender.db import utcnow
from sender.enums import CampaignKind, CampaignStatus, DeliveryStatus
from sender.i18n import N_
from sender.models import BreachNotice, Campaign, Delivery
from sender.services.errors import Conflict, NotFound, ValidationFailed
from sender.services.messages import promotion
from sender.services.records import audit, breaches

WHAT = "a legal notice"


@dataclass(frozen=True)
class NoticeSummary:
    """A legal notice of an incident, as the incident's page and its export show it."""

    campaign_id: int
    name: str
    status: str
    approved_by: str | None
    approved_at: datetime | None
    sent: int
    skipped: int


def _digest(campaign: Campaign) -> str:
    body = json.dumps([campaign.subject, campaign.body_html, campaign.body_text])
    return hashlib.sha256(body.encode()).hexdigest()


def _lint(campaign: Campaign) -> None:
    promotion.check(campaign.subject, campaign.body_html, campaign.body_text, WHAT)


def _draft_notice(session: Session, campaign_id: int) -> Campaign:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(N_("no such campaign"))
    if campaign.kind != CampaignKind.LEGAL_NOTICE:
        raise ValidationFailed(
            {
                "campaign_id": N_(
                    "campaign %(id)s is %(kind)s, not a legal notice", id=campaign.id, kind=campaign.kind
                )
            }
        )
    if campaign.status != CampaignStatus.DRAFT:
        raise Conflict(
            N_("campaign is %(status)s; only a draft can be attached or approved", status=campaign.status)
        )
    return campaign


def attach(session: Session, incident_id: int, campaign_id: int, actor: str) -> BreachNotice:
    """Record a draft legal notice as the communication of an incident to the people affected."""
    incident = breaches.get(session, incident_id)
    campaign = _draft_notice(session, campaign_id)
    if session.get(BreachNotice, campaign.id) is not None:
        raise Conflict(N_("campaign %(id)s is already the notice of an incident", id=campaign.id))
    _lint(campaign)
    notice = BreachNotice(campaign_id=campaign.id, incident_id=incident.id, created_by=actor)
    session.add(notice)
    session.flush()
    audit.record(session, actor, "breach.notice_attach", "breach", incident.id, {"campaign": campaign.id})
    return notice


def approve(
    session: Session, campaign_id: int, actor: str, note: str, now: datetime | None = None
) -> BreachNotice:
    """Record the DPO's approval of the notice's content as it stands (who, when, note)."""
    campaign = _draft_notice(session, campaign_id)
    notice = session.get(BreachNotice, campaign.id)
    if notice is None:
        raise ValidationFailed({"incident": N_("attach the notice to its incident before approving it")})
    if notice.approved_at is not None and notice.approved_digest == _digest(campaign):
        raise Conflict(
            N_(
                "already approved by %(approved_by)s at %(approved_at)sZ",
                approved_by=notice.approved_by,
                approved_at=notice.approved_at.isoformat(),
            )
        )
    _lint(campaign)
    notice.approved_by, notice.approved_at, notice.approval_note = actor, now or utcnow(), note
    notice.approved_digest = _digest(campaign)
    session.flush()
    audit.record(
        session, actor, "breach.notice_approve", "breach", notice.incident_id, {"campaign": campaign.id}
    )
    return notice


def check_notice(session: Session, campaign: Campaign) -> None:
    """Refuse to launch a legal notice that no incident records, or whose content the DPO did not approve."""
    notice = session.get(BreachNotice, campaign.id)
    if notice is None:
        raise ValidationFailed(
            {"incident": N_("a legal notice goes out only as the communication of an incident")}
        )
    if notice.approved_at is None:
        raise ValidationFailed({"approval": N_("a legal notice cannot be sent without the DPO's approval")})
    if notice.approved_digest != _digest(campaign):
        raise ValidationFailed(
            {"approval": N_("the notice was edited after its approval: the DPO must approve it again")}
        )
    _lint(campaign)


def of_incident(session: Session, incident_id: int) -> list[NoticeSummary]:
    """The legal notices of an incident, with how many people each reached and skipped."""
    rows = session.execute(
        select(BreachNotice, Campaign)
        .join(Campaign, Campaign.id == BreachNotice.campaign_id)
        .where(BreachNotice.incident_id == incident_id)
        .order_by(BreachNotice.campaign_id)
    ).all()
    ids = [campaign.id for _, campaign in rows]
    counts: dict[tuple[int, str], int] = {}
    if ids:
        for campaign_id, status, count in session.execute(
            select(Delivery.campaign_id, Delivery.status, func.count())
            .where(Delivery.campaign_id.in_(ids))
            .group_by(Delivery.campaign_id, Delivery.status)
        ):
            counts[(campaign_id, status)] = count
    return [
        NoticeSummary(
            campaign_id=campaign.id,
            name=campaign.name,
            status=campaign.status,
            approved_by=notice.approved_by,
            approved_at=notice.approved_at,
            sent=counts.get((campaign.id, DeliveryStatus.SENT), 0),
            skipped=counts.get((campaign.id, DeliveryStatus.SKIPPED), 0),
        )
        for notice, campaign in rows
    ]


def notice_of(session: Session, campaign_id: int) -> BreachNotice | None:
    """The incident record of a legal notice campaign, if it has one."""
    return session.get(BreachNotice, campaign_id)


def notice_of_incident(session: Session, incident_id: int, campaign_id: int) -> BreachNotice:
    """The legal notice `campaign_id` recorded against incident `incident_id`, else NotFound."""
    notice = notice_of(session, campaign_id)
    if notice is None or notice.incident_id != incident_id:
        breaches.get(session, incident_id)  # an unknown incident is named as such
        raise NotFound(N_("no such notice of this incident"))
    return notice


def export(session: Session, incident_id: int, dpo_contact: str, actor: str, fmt: str) -> dict[str, object]:
    """The incident's Art. 33(3) notification content with its Art. 34 communications (the export audited)."""
    content = breaches.export(session, incident_id, dpo_contact, actor, fmt)
    content["communications"] = communications(session, incident_id)
    return content


def communications(session: Session, incident_id: int) -> list[dict[str, object]]:
    """The incident's legal notices as the exports and the API write them."""
    return [
        {
            "campaign_id": n.campaign_id,
            "status": n.status,
            "approved_by": n.approved_by,
            "approved_at": n.approved_at.isoformat(timespec="seconds") + "Z" if n.approved_at else None,
            "sent": n.sent,
            "skipped": n.skipped,
        }
        for n in of_incident(session, incident_id)
    ]
