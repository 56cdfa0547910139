"""Segments: saved filters over contact fields, tags and consent state, turned into SQL when evaluated.

A segment is evaluated when a campaign is planned (at launch), never stored as a member list, so it
always reflects the contacts and consents of that moment.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, exists, func, insert, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sender.enums import ConsentStatus
from sender.models import ConsentState, Contact, ContactTag, Purpose, Segment, campaign_segments
from sender.models.contacts import CHANNELS, CONTACT_STATUSES
from sender.services.errors import Conflict, NotFound, ValidationFailed
from sender.services.records import audit

# A segment may also select the contacts without any consent state for the purpose and channel.
CONSENT_STATES = (*ConsentStatus, "none")
RULE_KEYS = ("tags", "status", "country", "locale", "legacy", "created_after", "consent")


def _clean_rules(session: Session, raw: Mapping[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    rules: dict[str, Any] = {}
    tags = [str(t).strip().lower() for t in raw.get("tags") or [] if str(t).strip()]
    if tags:
        rules["tags"] = sorted(set(tags))
    status = raw.get("status") or None
    if status is not None:
        if status not in CONTACT_STATUSES:
            errors["status"] = f"must be one of {', '.join(CONTACT_STATUSES)}"
        rules["status"] = status
    for name, size in (("country", 2), ("locale", 16)):
        value = (raw.get(name) or "").strip()
        if value:
            if len(value) > size:
                errors[name] = f"must be at most {size} characters"
            rules[name] = value.upper() if name == "country" else value
    if raw.get("legacy") in (True, False):
        rules["legacy"] = raw["legacy"]
    created_after = raw.get("created_after") or None
    if created_after is not None:
        try:
            rules["created_after"] = date.fromisoformat(str(created_after)).isoformat()
        except ValueError:
            errors["created_after"] = "must be a date (YYYY-MM-DD)"
    consent = raw.get("consent") or {}
    if consent.get("purpose"):
        purpose = session.scalar(select(Purpose.id).where(Purpose.slug == consent["purpose"]))
        if purpose is None:
            errors["consent_purpose"] = f"no purpose {consent['purpose']!r}"
        if consent.get("channel") not in CHANNELS:
            errors["consent_channel"] = f"must be one of {', '.join(CHANNELS)}"
        if consent.get("state") not in CONSENT_STATES:
            errors["consent_state"] = f"must be one of {', '.join(CONSENT_STATES)}"
        rules["consent"] = {k: consent.get(k) for k in ("purpose", "channel", "state")}
    return rules


def save(session: Session, segment: Segment | None, data: Mapping[str, Any], actor: str) -> Segment:
    """Create or update a segment from a name, a description and rules; the caller commits."""
    errors: dict[str, str] = {}
    name = str(data.get("name") or "").strip()
    if not name:
        errors["name"] = "is required"
    elif len(name) > 200:
        errors["name"] = "must be at most 200 characters"
    rules = _clean_rules(session, data.get("rules") or {}, errors)
    if errors:
        raise ValidationFailed(errors)
    target = segment or Segment()
    target.name, target.description, target.rules = name, str(data.get("description") or ""), rules
    try:
        with session.begin_nested():
            session.add(target)
    except IntegrityError:
        raise Conflict(f"a segment named {name!r} already exists") from None
    audit.record(session, actor, "segment.save", "segment", target.id, {"rules": sorted(rules)})
    return target


def get(session: Session, segment_id: int) -> Segment:
    """The segment with this id, or NotFound."""
    segment = session.get(Segment, segment_id)
    if segment is None:
        raise NotFound("no such segment")
    return segment


def all_segments(session: Session) -> list[Segment]:
    """Every segment by name."""
    return list(session.scalars(select(Segment).order_by(Segment.name)))


def remove(session: Session, segment: Segment, actor: str) -> None:
    """Delete a segment no campaign targets; the caller commits."""
    used = session.scalar(select(exists().where(campaign_segments.c.segment_id == segment.id)))
    if used:
        raise Conflict("a campaign targets this segment; it cannot be deleted")
    audit.record(session, actor, "segment.delete", "segment", segment.id, {})
    session.delete(segment)
    session.flush()


def condition(session: Session, rules: Mapping[str, Any]) -> ColumnElement[bool]:
    """The rules as one SQL condition on Contact."""
    parts: list[ColumnElement[bool]] = []
    if rules.get("tags"):
        parts.append(Contact.id.in_(select(ContactTag.contact_id).where(ContactTag.tag.in_(rules["tags"]))))
    if rules.get("status"):
        parts.append(Contact.status == rules["status"])
    if rules.get("country"):
        parts.append(Contact.country == rules["country"])
    if rules.get("locale"):
        parts.append(Contact.locale == rules["locale"])
    if "legacy" in rules:
        parts.append(Contact.is_legacy.is_(bool(rules["legacy"])))
    if rules.get("created_after"):
        parts.append(Contact.created_at >= datetime.fromisoformat(rules["created_after"]))
    consent = rules.get("consent")
    if consent:
        purpose_id = session.scalar(select(Purpose.id).where(Purpose.slug == consent["purpose"]))
        has_state = select(ConsentState.contact_id).where(
            ConsentState.purpose_id == purpose_id, ConsentState.channel == consent["channel"]
        )
        if consent["state"] == "none":
            parts.append(Contact.id.not_in(has_state))
        else:
            parts.append(Contact.id.in_(has_state.where(ConsentState.status == consent["state"])))
    return and_(true(), *parts)


def members(session: Session, segment_ids: Sequence[int]) -> Select[Any]:
    """Ids of contacts in any of these segments (one SELECT, for IN (...) in planning)."""
    found = session.scalars(select(Segment).where(Segment.id.in_(segment_ids))).all()
    if not found:
        return select(Contact.id).where(Contact.id.is_(None))

    return select(Contact.id).where(or_(*(condition(session, s.rules) for s in found)))


def count(session: Session, segment: Segment) -> int:
    """How many contacts the segment holds right now."""
    return (
        session.scalar(select(func.count()).select_from(Contact).where(condition(session, segment.rules)))
        or 0
    )


def of_campaign(session: Session, campaign_id: int) -> list[int]:
    """Ids of the segments a campaign targets."""
    return list(
        session.scalars(
            select(campaign_segments.c.segment_id).where(campaign_segments.c.campaign_id == campaign_id)
        )
    )


def set_for_campaign(session: Session, campaign_id: int, segment_ids: Sequence[int]) -> None:
    """Replace the segments a campaign targets; the caller commits."""
    session.execute(delete(campaign_segments).where(campaign_segments.c.campaign_id == campaign_id))
    if segment_ids:
        session.execute(
            insert(campaign_segments),
            [{"campaign_id": campaign_id, "segment_id": sid} for sid in sorted(set(segment_ids))],
        )
