"""API resource: requalification cycles (create, approve, funnel) and interactions from the person."""

from __future__ import annotations

from typing import Any

from flask import g, jsonify
from flask.typing import ResponseReturnValue

from sender.models import Campaign, Purpose, Requalification
from sender.services.audience import interactions
from sender.services.audience.contacts import get_by_public_id
from sender.services.campaigns import lifecycle, requalify
from sender.web.api.inputs import parse_body
from sender.web.api.present import ts
from sender.web.api.schemas.requalifications import ApprovalInput, InteractionInput, RequalificationInput
from sender.web.api.spec import ID, TIMESTAMP, Component, nullable, obj
from sender.web.session import get_session, runtime


def present(campaign: Campaign, cycle: Requalification) -> dict[str, Any]:
    """A cycle as JSON: its campaign, deadline, approval and funnel."""
    session = get_session()
    purpose = session.get(Purpose, campaign.purpose_id)
    funnel = requalify.funnel(session, campaign.id)
    return {
        "campaign_id": campaign.id,
        "name": campaign.name,
        "purpose": purpose.slug if purpose else None,
        "status": campaign.status,
        "deadline": ts(cycle.deadline),
        "wording_version": cycle.wording_version,
        "approval": {
            "by": cycle.approved_by,
            "at": ts(cycle.approved_at),
            "note": cycle.approval_note,
        },
        "closed_at": ts(cycle.closed_at),
        "funnel": {
            "asked": funnel.asked,
            "waiting": funnel.waiting,
            "confirmed": funnel.confirmed,
            "declined": funnel.declined,
            "expired": {"erased": funnel.erased, "archived": funnel.archived},
            "excluded": funnel.excluded,
        },
    }


def _cycle(campaign_id: int) -> tuple[Campaign, Requalification]:
    session = get_session()
    campaign = lifecycle.get(session, campaign_id)
    return campaign, requalify.cycle_of(session, campaign)


def create_requalification() -> ResponseReturnValue:
    """Create a draft requalification campaign; promotion and past deadlines are refused per field."""
    body = parse_body(RequalificationInput)
    session = get_session()
    draft = requalify.Draft(
        name=body.name,
        purpose=body.purpose,
        subject=body.subject,
        body_text=body.body_text,
        body_html=body.body_html,
        deadline=body.deadline.replace(tzinfo=None) if body.deadline else None,
    )
    campaign = requalify.create(session, runtime().settings, draft, g.actor)
    return jsonify(present(*_cycle(campaign.id))), 201


def list_requalifications() -> ResponseReturnValue:
    """Requalification cycles with their funnels, newest first."""
    return jsonify({"items": [present(c, r) for c, r in requalify.cycles(get_session())]})


def get_requalification(campaign_id: int) -> ResponseReturnValue:
    """One cycle: deadline, approval and funnel (asked, confirmed, declined, expired → erased or archived)."""
    return jsonify(present(*_cycle(campaign_id)))


def approve_campaign(campaign_id: int) -> ResponseReturnValue:
    """Record the DPO's approval of a requalification campaign (who, when, note)."""
    body = parse_body(ApprovalInput)
    requalify.approve(get_session(), runtime().settings, campaign_id, g.actor, body.note)
    return jsonify(present(*_cycle(campaign_id)))


def record_interaction(public_id: str) -> ResponseReturnValue:
    """Report something the person did; says whether it moved the retention clock."""
    body = parse_body(InteractionInput)
    session = get_session()
    contact = get_by_public_id(session, public_id)
    refused = interactions.record(
        session,
        runtime().settings,
        contact,
        body.kind,
        at=body.occurred_at.replace(tzinfo=None) if body.occurred_at else None,
        delivery_id=body.delivery_id,
    )
    return jsonify(
        {
            "counted": refused is None,
            "reason": refused,
            "last_interaction_at": ts(contact.last_interaction_at),
        }
    )


_STR = {"type": "string"}
_INT = {"type": "integer"}
REQUALIFICATION = Component(
    "Requalification",
    obj(
        {
            "campaign_id": ID,
            "name": _STR,
            "purpose": nullable(_STR),
            "status": _STR,
            "deadline": TIMESTAMP,
            "wording_version": _INT,
            "approval": obj({"by": nullable(_STR), "at": nullable(TIMESTAMP), "note": nullable(_STR)}),
            "closed_at": nullable(TIMESTAMP),
            "funnel": obj(
                {
                    "asked": _INT,
                    "waiting": _INT,
                    "confirmed": _INT,
                    "declined": _INT,
                    "expired": obj({"erased": _INT, "archived": _INT}),
                    "excluded": _INT,
                }
            ),
        },
        ["campaign_id", "deadline", "approval", "funnel"],
    ),
)
INTERACTION_RESULT = Component(
    "InteractionResult",
    obj(
        {
            "counted": {"type": "boolean"},
            "reason": nullable(_STR),
            "last_interaction_at": nullable(TIMESTAMP),
        },
        ["counted", "reason"],
    ),
)
