"""Copying a campaign, whatever its status, into a new draft ("Copy of …") with the same content and audience."""

from __future__ import annotations

from sqlalchemy.orm import Session

from sender.enums import CampaignKind, CampaignStatus
from sender.i18n import N_
from sender.models import Campaign
from sender.services.audience import segments
from sender.services.campaigns import ab_setup
from sender.services.errors import Conflict
from sender.services.records import audit

COPY_PREFIX = "Copy of "
# What belongs to the original's life, not to its content: a copy starts as a fresh draft.
_LIFE = frozenset(
    {
        "id",
        "name",
        "status",
        "scheduled_at",
        "created_by",
        "created_at",
        "launched_at",
        "planned_at",
        "finished_at",
    }
)


def duplicate(session: Session, campaign: Campaign, actor: str) -> Campaign:
    """A new draft with the campaign's content, template and audience; the caller commits.

    Every content column is copied, whichever the composer adds, so a copy never loses a part.
    A requalification message or a legal notice belongs to its cycle or incident: Conflict.
    """
    if campaign.kind != CampaignKind.MARKETING:
        raise Conflict(N_("only marketing campaigns can be duplicated"))
    content = {
        column.key: getattr(campaign, column.key)
        for column in Campaign.__mapper__.column_attrs
        if column.key not in _LIFE
    }
    copy = Campaign(
        **content,
        name=(COPY_PREFIX + campaign.name)[:200],
        status=CampaignStatus.DRAFT,
        created_by=actor,
        lists=list(campaign.lists),
    )
    ab_setup.copy(campaign, copy)
    session.add(copy)
    session.flush()
    segments.set_for_campaign(session, copy.id, segments.of_campaign(session, campaign.id))
    audit.record(session, actor, "campaign.duplicate", "campaign", copy.id, {"from": campaign.id})
    return copy
