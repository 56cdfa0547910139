"""Drafts composed in the staff pages: saved (and re-saved) with lists and segments, deleted while drafts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.enums import CampaignKind, CampaignStatus, Channel
from sender.models import Campaign, ContactList, Purpose, Segment
from sender.services.audience import segments
from sender.services.errors import Conflict, ValidationFailed
from sender.services.messages import rendering, sms
from sender.services.records import audit

KINDS = (CampaignKind.MARKETING, CampaignKind.LEGAL_NOTICE)
CHANNELS = (Channel.EMAIL, Channel.SMS)
LIMITS = {"name": 200, "subject": 255, "body_text": 500_000, "body_html": 500_000}


def _ids(session: Session, model: type[ContactList] | type[Segment], raw: Sequence[int]) -> list[Any]:
    wanted = sorted(set(raw))
    if not wanted:
        return []
    return list(session.scalars(select(model).where(model.id.in_(wanted))))


def save(session: Session, campaign: Campaign | None, data: Mapping[str, Any], actor: str) -> Campaign:
    """Create a draft, or update one; the audience is lists and/or segments. The caller commits."""
    if campaign is not None and campaign.status != CampaignStatus.DRAFT:
        raise Conflict(f"campaign is {campaign.status}; only a draft can be edited")
    errors: dict[str, str] = {}
    channel = data.get("channel") or Channel.EMAIL
    if channel not in CHANNELS:
        errors["channel"] = f"must be one of {', '.join(CHANNELS)}"
    values = {name: str(data.get(name) or "") for name in LIMITS}
    if channel == Channel.SMS:
        # An SMS is only its text: a subject or HTML left in the form from an email draft is dropped.
        values["subject"] = values["body_html"] = ""
    for name, limit in LIMITS.items():
        optional = name == "body_html" or (name == "subject" and channel == Channel.SMS)
        if not optional and not values[name].strip():
            errors[name] = "is required"
        elif len(values[name]) > limit:
            errors[name] = f"must be at most {limit} characters"
    kind = data.get("kind") or CampaignKind.MARKETING
    if kind not in KINDS:
        errors["kind"] = f"must be one of {', '.join(KINDS)}"
    purpose = session.scalar(select(Purpose).where(Purpose.slug == (data.get("purpose") or "")))
    if purpose is None:
        errors["purpose"] = "choose a purpose"
    lists = _ids(session, ContactList, data.get("lists") or [])
    chosen_segments = _ids(session, Segment, data.get("segments") or [])
    if not lists and not chosen_segments:
        errors["lists"] = "choose at least one list or segment"
    if not any(k in errors for k in ("subject", "body_html", "body_text")):
        try:
            if channel == Channel.SMS:
                sms.validate_sms_body(values["body_text"])
            else:
                rendering.validate_content(values["subject"], values["body_html"], values["body_text"])
        except ValidationFailed as exc:
            errors.update(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    assert purpose is not None
    target = campaign or Campaign(status=CampaignStatus.DRAFT, created_by=actor)
    target.channel = channel
    target.name, target.subject = values["name"].strip(), values["subject"]
    target.body_text, target.body_html = values["body_text"], values["body_html"]
    target.kind, target.purpose_id, target.lists = kind, purpose.id, lists
    session.add(target)
    session.flush()
    segments.set_for_campaign(session, target.id, [s.id for s in chosen_segments])
    audit.record(
        session, actor, "campaign.save" if campaign else "campaign.create", "campaign", target.id, {}
    )
    return target


def delete(session: Session, campaign: Campaign, actor: str) -> None:
    """Delete a draft (nothing was planned or sent for it); the caller commits."""
    if campaign.status != CampaignStatus.DRAFT:
        raise Conflict(f"campaign is {campaign.status}; only a draft can be deleted")
    audit.record(session, actor, "campaign.delete", "campaign", campaign.id, {"name": campaign.name})
    session.delete(campaign)
    session.flush()
