"""The campaign state machine: the one writer of `campaign.status`, with its transitions declared once.

    draft ─schedule─▶ scheduled ─unschedule─▶ draft     (edited: scheduled again by hand)
    draft, scheduled ─launch─▶ sending ─finish─▶ sent
    draft ─open─▶ sending                          (a requalification cycle starts)
    sending ─pause─▶ paused ─resume─▶ sending
    draft, scheduled, sending, paused ─cancel─▶ cancelled
    sent ─reopen─▶ sending                          (a cycle asks the newly due)
    sending, paused, sent ─close─▶ sent             (a cycle's deadline has passed)

Each move is one guarded UPDATE (`… WHERE status IN (sources)`): of two requests racing for the same move,
one wins and the other gets a Conflict (409) naming the status it found. A move writes the status and the
columns that go with it (`launched_at`, `finished_at`, …) in that same statement; reaching `sent` also
records the campaign.finished webhook event in the caller's unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, update
from sqlalchemy.orm import Session

from sender.db import rowcount
from sender.enums import CampaignStatus, WebhookEvent
from sender.i18n import N_
from sender.models import Campaign
from sender.services.errors import Conflict
from sender.services.webhooks import events

DRAFT, SCHEDULED, SENDING, SENT, PAUSED, CANCELLED = (
    CampaignStatus.DRAFT,
    CampaignStatus.SCHEDULED,
    CampaignStatus.SENDING,
    CampaignStatus.SENT,
    CampaignStatus.PAUSED,
    CampaignStatus.CANCELLED,
)


@dataclass(frozen=True)
class Transition:
    """A named move from any of `sources` to `target`; `refusal` ends the Conflict's message."""

    name: str
    sources: frozenset[CampaignStatus]
    target: CampaignStatus
    refusal: str = ""

    def refused(self, found: str) -> Conflict:
        """The 409 for a campaign found in status `found`."""
        refusal = self.refusal or N_("cannot go to %(target)s", target=self.target)
        return Conflict(N_("campaign is %(status)s; %(refusal)s", status=found, refusal=refusal))


def _t(name: str, sources: set[CampaignStatus], target: CampaignStatus, refusal: str = "") -> Transition:
    return Transition(name, frozenset(sources), target, refusal)


SCHEDULE = _t("schedule", {DRAFT}, SCHEDULED, "only a draft can be scheduled")
UNSCHEDULE = _t("unschedule", {SCHEDULED}, DRAFT, "only a draft or a scheduled campaign can be edited")
LAUNCH = _t("launch", {DRAFT, SCHEDULED}, SENDING, "only draft or scheduled campaigns can be sent")
OPEN = _t("open", {DRAFT}, SENDING, "only a draft can be started")
FINISH = _t("finish", {SENDING}, SENT)
PAUSE = _t("pause", {SENDING}, PAUSED)
RESUME = _t("resume", {PAUSED}, SENDING)
CANCEL = _t("cancel", {DRAFT, SCHEDULED, SENDING, PAUSED}, CANCELLED)
REOPEN = _t("reopen", {SENT}, SENDING)
CLOSE = _t("close", {SENDING, PAUSED, SENT}, SENT)

TRANSITIONS = (SCHEDULE, UNSCHEDULE, LAUNCH, OPEN, FINISH, PAUSE, RESUME, CANCEL, REOPEN, CLOSE)
# Every (from, to) pair some transition allows; whatever is not here never happens.
ALLOWED = frozenset((source, t.target) for t in TRANSITIONS for source in t.sources)


def advance(
    session: Session,
    campaign_id: int,
    transition: Transition,
    *,
    provided: ColumnElement[bool] | None = None,
    **values: Any,
) -> bool:
    """Make the move if the campaign stands in one of its sources (and `provided` holds); True if it moved.

    `values` are the other columns the move writes (`launched_at=…`); the caller commits.
    """
    stmt = update(Campaign).where(Campaign.id == campaign_id, Campaign.status.in_(transition.sources))
    if provided is not None:
        stmt = stmt.where(provided)
    moved = rowcount(
        session.execute(
            stmt.values(status=transition.target, **values).execution_options(synchronize_session=False)
        )
    )
    if moved == 1 and transition.target == SENT:
        events.emit(session, WebhookEvent.CAMPAIGN_FINISHED, {"campaign": campaign_id})
    return moved == 1


def move(session: Session, campaign: Campaign, transition: Transition, **values: Any) -> None:
    """Make the move, or raise Conflict (409) naming the status the campaign is in; `campaign` is refreshed."""
    moved = advance(session, campaign.id, transition, **values)
    session.refresh(campaign)
    if not moved:
        raise transition.refused(campaign.status)
