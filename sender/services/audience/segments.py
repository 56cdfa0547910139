"""Segments: saved filters over contact fields, attributes, tags and consent state, turned into SQL.

A segment's rules are an OR of AND-groups (`{"groups": [...]}`): a contact is a member when it matches
every filter of at least one group.

A segment is evaluated when a campaign is planned (at launch), never stored as a member list, so it
always reflects the contacts and consents of that moment.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, exists, false, func, insert, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sender.enums import ConsentStatus, SegmentOperator
from sender.i18n import N_
from sender.models import ConsentState, Contact, ContactTag, Purpose, Segment, campaign_segments
from sender.models.contacts import CHANNELS, CONTACT_STATUSES
from sender.services.errors import Conflict, NotFound, ValidationFailed
from sender.services.records import audit

# A segment may also select the contacts without any consent state for the purpose and channel.
CONSENT_STATES = (*ConsentStatus, "none")
RULE_KEYS = ("tags", "status", "country", "locale", "legacy", "created_after", "consent", "attributes")
# Attribute conditions may name these contact columns; any other name is a key of the imported attributes.
ATTRIBUTE_COLUMNS = {"country": Contact.country, "language": Contact.locale, "locale": Contact.locale}
ATTRIBUTE_NAME = re.compile(r"^[\w .-]{1,64}$")
MAX_GROUPS, MAX_CONDITIONS, MAX_VALUE = 20, 20, 200
PREVIEW_SIZE = 10


@dataclass(frozen=True)
class Preview:
    """How many contacts some rules match now, and the first few of them."""

    count: int
    first: list[Contact]


def _clean_attributes(raw: Any, errors: dict[str, str], prefix: str) -> list[dict[str, str]]:
    """Attribute conditions with a name, an operator and (unless `empty`) a value; blank rows are dropped."""
    kept: list[dict[str, str]] = []
    for index, item in enumerate(raw if isinstance(raw, list) else []):
        field = str(item.get("field") or "").strip().lower() if isinstance(item, Mapping) else ""
        if not field:
            continue
        key = f"{prefix}attributes-{index}"
        op = str(item.get("op") or SegmentOperator.EQUALS)
        value = str(item.get("value") or "").strip()
        if not ATTRIBUTE_NAME.match(field):
            errors[f"{key}-field"] = N_(
                "must be 1 to 64 letters, digits, spaces, dots, dashes or underscores"
            )
        if op not in SegmentOperator.__members__.values():
            errors[f"{key}-op"] = N_("must be one of %(choices)s", choices=", ".join(SegmentOperator))
        if op != SegmentOperator.EMPTY and not value:
            errors[f"{key}-value"] = N_("is required unless the operator is empty")
        elif len(value) > MAX_VALUE:
            errors[f"{key}-value"] = N_("must be at most %(n)d characters", n=MAX_VALUE)
        kept.append({"field": field, "op": op, "value": "" if op == SegmentOperator.EMPTY else value})
    if len(kept) > MAX_CONDITIONS:
        errors[f"{prefix}attributes"] = N_(
            "at most %(max_conditions)s conditions", max_conditions=MAX_CONDITIONS
        )
    return kept


def _clean_group(
    session: Session, raw: Mapping[str, Any], errors: dict[str, str], prefix: str = ""
) -> dict[str, Any]:
    """One AND-group: every filled-in filter must match. Error keys carry `prefix` (the group's form name)."""
    rules: dict[str, Any] = {}
    tags = [str(t).strip().lower() for t in raw.get("tags") or [] if str(t).strip()]
    if tags:
        rules["tags"] = sorted(set(tags))
    status = raw.get("status") or None
    if status is not None:
        if status not in CONTACT_STATUSES:
            errors[f"{prefix}status"] = N_("must be one of %(choices)s", choices=", ".join(CONTACT_STATUSES))
        rules["status"] = status
    for name, size in (("country", 2), ("locale", 16)):
        value = (raw.get(name) or "").strip()
        if value:
            if len(value) > size:
                errors[f"{prefix}{name}"] = N_("must be at most %(n)d characters", n=size)
            rules[name] = value.upper() if name == "country" else value
    if raw.get("legacy") in (True, False):
        rules["legacy"] = raw["legacy"]
    created_after = raw.get("created_after") or None
    if created_after is not None:
        try:
            rules["created_after"] = date.fromisoformat(str(created_after)).isoformat()
        except ValueError:
            errors[f"{prefix}created_after"] = N_("must be a date (YYYY-MM-DD)")
    consent = raw.get("consent") or {}
    if consent.get("purpose"):
        purpose = session.scalar(select(Purpose.id).where(Purpose.slug == consent["purpose"]))
        if purpose is None:
            errors[f"{prefix}consent_purpose"] = N_("no purpose %(slug)r", slug=consent["purpose"])
        if consent.get("channel") not in CHANNELS:
            errors[f"{prefix}consent_channel"] = N_("must be one of %(choices)s", choices=", ".join(CHANNELS))
        if consent.get("state") not in CONSENT_STATES:
            errors[f"{prefix}consent_state"] = N_(
                "must be one of %(choices)s", choices=", ".join(CONSENT_STATES)
            )
        rules["consent"] = {k: consent.get(k) for k in ("purpose", "channel", "state")}
    attributes = _clean_attributes(raw.get("attributes"), errors, prefix)
    if attributes:
        rules["attributes"] = attributes
    return rules


def clean_rules(session: Session, raw: Mapping[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    """Rules as stored: `{"groups": [...]}`, an OR of AND-groups; empty groups are dropped unless all are.

    Error keys name the group's form fields (`groups-0-country`), so the page shows each at its field.
    """
    raw_groups = raw.get("groups")
    groups_in = raw_groups if isinstance(raw_groups, list) else []
    groups = [
        _clean_group(session, g if isinstance(g, Mapping) else {}, errors, f"groups-{i}-")
        for i, g in enumerate(groups_in)
    ]
    kept = [g for g in groups if g] or [{}]
    if len(kept) > MAX_GROUPS:
        errors["groups"] = N_("at most %(max_groups)s groups", max_groups=MAX_GROUPS)
    return {"groups": kept}


def save(session: Session, segment: Segment | None, data: Mapping[str, Any], actor: str) -> Segment:
    """Create or update a segment from a name, a description and rules; the caller commits."""
    errors: dict[str, str] = {}
    name = str(data.get("name") or "").strip()
    if not name:
        errors["name"] = N_("is required")
    elif len(name) > 200:
        errors["name"] = N_("must be at most 200 characters")
    rules = clean_rules(session, data.get("rules") or {}, errors)
    if errors:
        raise ValidationFailed(errors)
    target = segment or Segment()
    target.name, target.description, target.rules = name, str(data.get("description") or ""), rules
    try:
        with session.begin_nested():
            session.add(target)
    except IntegrityError:
        raise Conflict(N_("a segment named %(name)r already exists", name=name)) from None
    audit.record(session, actor, "segment.save", "segment", target.id, {"groups": len(rules["groups"])})
    return target


def get(session: Session, segment_id: int) -> Segment:
    """The segment with this id, or NotFound."""
    segment = session.get(Segment, segment_id)
    if segment is None:
        raise NotFound(N_("no such segment"))
    return segment


def all_segments(session: Session) -> list[Segment]:
    """Every segment by name."""
    return list(session.scalars(select(Segment).order_by(Segment.name)))


def remove(session: Session, segment: Segment, actor: str) -> None:
    """Delete a segment no campaign targets; the caller commits."""
    used = session.scalar(select(exists().where(campaign_segments.c.segment_id == segment.id)))
    if used:
        raise Conflict(N_("a campaign targets this segment; it cannot be deleted"))
    audit.record(session, actor, "segment.delete", "segment", segment.id, {})
    session.delete(segment)
    session.flush()


def _attribute(item: Mapping[str, str]) -> ColumnElement[bool]:
    """One attribute condition, case-insensitive, on a contact column or a key of the attributes JSON."""
    column = ATTRIBUTE_COLUMNS.get(item["field"])
    # JSON_EXTRACT on SQLite, ->> on PostgreSQL: the attribute as text, NULL when missing.
    text = column if column is not None else Contact.attributes[item["field"]].as_string()
    lowered = func.lower(func.trim(text))
    if item["op"] == SegmentOperator.EMPTY:
        return or_(text.is_(None), lowered == "")
    value = item["value"].strip().lower()
    if item["op"] == SegmentOperator.CONTAINS:
        return lowered.contains(value, autoescape=True)
    return lowered == value


def condition(session: Session, group: Mapping[str, Any]) -> ColumnElement[bool]:
    """One AND-group as one SQL condition on Contact."""
    parts: list[ColumnElement[bool]] = []
    if group.get("tags"):
        parts.append(Contact.id.in_(select(ContactTag.contact_id).where(ContactTag.tag.in_(group["tags"]))))
    if group.get("status"):
        parts.append(Contact.status == group["status"])
    if group.get("country"):
        parts.append(Contact.country == group["country"])
    if group.get("locale"):
        parts.append(Contact.locale == group["locale"])
    if "legacy" in group:
        parts.append(Contact.is_legacy.is_(bool(group["legacy"])))
    if group.get("created_after"):
        parts.append(Contact.created_at >= datetime.fromisoformat(group["created_after"]))
    consent = group.get("consent")
    if consent:
        purpose_id = session.scalar(select(Purpose.id).where(Purpose.slug == consent["purpose"]))
        has_state = select(ConsentState.contact_id).where(
            ConsentState.purpose_id == purpose_id, ConsentState.channel == consent["channel"]
        )
        if consent["state"] == "none":
            parts.append(Contact.id.not_in(has_state))
        else:
            parts.append(Contact.id.in_(has_state.where(ConsentState.status == consent["state"])))
    parts.extend(_attribute(item) for item in group.get("attributes") or [])
    return and_(true(), *parts)


def matching(session: Session, rule_sets: Sequence[Mapping[str, Any]]) -> Select[Any]:
    """Ids of contacts matching any group of any of these rules: the one rule of segment membership."""
    groups = [group for rules in rule_sets for group in rules["groups"]]
    return select(Contact.id).where(or_(false(), *(condition(session, g) for g in groups)))


def members(session: Session, segment_ids: Sequence[int]) -> Select[Any]:
    """Ids of contacts in any of these segments (one SELECT, for IN (...) in planning)."""
    found = session.scalars(select(Segment).where(Segment.id.in_(segment_ids))).all()
    return matching(session, [s.rules for s in found])


def _count(session: Session, ids: Select[Any]) -> int:
    return session.scalar(select(func.count()).select_from(ids.subquery())) or 0


def count(session: Session, segment: Segment) -> int:
    """How many contacts the segment holds right now (the members planning would take)."""
    return _count(session, members(session, [segment.id]))


def preview(session: Session, raw: Mapping[str, Any]) -> Preview:
    """Count and first members of unsaved rules, through the same SQL as `members`; ValidationFailed if bad."""
    errors: dict[str, str] = {}
    rules = clean_rules(session, raw, errors)
    if errors:
        raise ValidationFailed(errors)
    ids = matching(session, [rules])
    first = session.scalars(
        select(Contact).where(Contact.id.in_(ids)).order_by(Contact.id).limit(PREVIEW_SIZE)
    ).all()
    return Preview(count=_count(session, ids), first=list(first))


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
