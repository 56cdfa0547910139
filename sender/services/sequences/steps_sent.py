"""The "sequence step sent" webhook event, emitted where a step's outcome is written (the send path)."""

from __future__ import annotations

from collections.abc import Sequence as Many

from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.enums import CampaignKind, WebhookEvent
from sender.models import Campaign, Contact, Delivery, SequenceStep
from sender.services.webhooks import events


def announce(session: Session, campaign_id: int, sent: Many[tuple[int, Contact]]) -> None:
    """Emit one event per message of a sequence step the provider accepted; other campaigns: nothing."""
    if not sent:
        return
    campaign = session.get(Campaign, campaign_id)
    if campaign is None or campaign.kind != CampaignKind.SEQUENCE:
        return
    step = session.scalar(select(SequenceStep).where(SequenceStep.campaign_id == campaign_id))
    if step is None:
        return
    rounds = dict(
        session.execute(
            select(Delivery.id, Delivery.round).where(Delivery.id.in_([d for d, _ in sent]))
        ).all()
    )
    for delivery_id, contact in sent:
        # Ids and the public id only: never an address.
        events.emit(
            session,
            WebhookEvent.SEQUENCE_STEP_SENT,
            {
                "sequence_id": step.sequence_id,
                "step": step.position + 1,
                "enrolment_id": rounds.get(delivery_id),
                "delivery_id": delivery_id,
                "contact": contact.public_id,
            },
            contact_id=contact.id,
        )
