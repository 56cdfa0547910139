"""Campaign lifecycle: create (content checked at save time), preview, pause, cancel, progress reports.

Launching, scheduling and resuming are in launch.py (they enqueue work); every status change goes through
states.py."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from sender.db import rowcount, utcnow
from sender.enums import CampaignKind, Channel, DeliveryReason, DeliveryStatus
from sender.i18n import LOCALES
from sender.models import Campaign, ContactList, Delivery, Purpose
from sender.models.campaigns import CAMPAIGN_KINDS
from sender.services.campaigns import planning, requalify, states
from sender.services.errors import NotFound, ValidationFailed
from sender.services.messages import rendering, sms
from sender.services.records import audit

SUPPORTED_CHANNELS = (Channel.EMAIL, Channel.SMS)
CHOSEN_KINDS = (CampaignKind.MARKETING, CampaignKind.LEGAL_NOTICE)


@dataclass(frozen=True)
class LaunchResult:
    """What planning produced (or would): queued count, and skipped counts by reason."""

    queued: int
    skipped: dict[str, int]


@dataclass(frozen=True)
class Report:
    """A campaign's progress: deliveries by status and skipped ones by reason."""

    by_status: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)


def _parse_time(raw: Any) -> datetime:
    if not isinstance(raw, str):
        raise ValueError("must be an ISO 8601 date-time string")
    value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError("must include a time zone, e.g. 2026-12-01T09:00:00Z")
    return value.astimezone(UTC).replace(tzinfo=None)


def _text(data: Mapping[str, Any], name: str, limit: int, errors: dict[str, str], required: bool) -> str:
    value = data.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors[name] = "must be a string"
        return ""
    if required and not value.strip():
        errors[name] = "is required"
    elif len(value) > limit:
        errors[name] = f"must be at most {limit} characters"
    elif problem := _unstorable(value):
        errors[name] = problem
    return value


def _unstorable(value: str) -> str | None:
    """Why text cannot be stored (NUL on PostgreSQL) or sent as UTF-8 (lone surrogate), or None."""
    if "\x00" in value:
        return "must not contain NUL characters"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must not contain lone surrogates (invalid Unicode)"
    return None


def create(session: Session, data: Mapping[str, Any], actor: str) -> Campaign:
    """Create a draft campaign after checking every field and compiling its templates.

    The templates are checked first, before the session is used: a render may take up to its time limit,
    and no transaction (on SQLite, the write lock) may be held meanwhile.
    """
    errors: dict[str, str] = {}
    name = _text(data, "name", 200, errors, required=True)
    channel = data.get("channel", Channel.EMAIL)
    # An SMS is only its text: no subject, no HTML.
    subject = _text(data, "subject", 255, errors, required=channel != Channel.SMS)
    body_html = _text(data, "body_html", 500_000, errors, required=False)
    body_text = _text(data, "body_text", 500_000, errors, required=True)
    if channel == Channel.SMS and (subject or body_html):
        errors["subject" if subject else "body_html"] = "an SMS campaign has only body_text"
    if channel not in SUPPORTED_CHANNELS:
        errors["channel"] = f"must be one of {', '.join(SUPPORTED_CHANNELS)}"
    if not any(k in errors for k in ("subject", "body_html", "body_text")):
        try:
            if channel == Channel.SMS:
                sms.validate_sms_body(body_text)
            else:
                rendering.validate_content(subject, body_html, body_text)
        except ValidationFailed as exc:
            errors.update(exc.errors)
    kind = data.get("kind", CampaignKind.MARKETING)
    if kind not in CHOSEN_KINDS:
        errors["kind"] = "must be marketing or legal_notice"
    locale = data.get("locale")
    if locale is not None and locale not in LOCALES:
        errors["locale"] = f"must be one of {', '.join(LOCALES)} or null (the organisation's language)"
    purpose = None
    slug = data.get("purpose")
    if not isinstance(slug, str) or not slug:
        errors["purpose"] = "is required (a purpose slug)"
    else:
        purpose = session.scalar(select(Purpose).where(Purpose.slug == slug))
        if purpose is None:
            errors["purpose"] = f"no purpose {slug!r}"
    lists = _lists(session, data.get("lists"), errors)
    scheduled_at = None
    if data.get("scheduled_at") is not None:
        try:
            scheduled_at = _parse_time(data["scheduled_at"])
        except ValueError as exc:
            errors["scheduled_at"] = str(exc)
    if errors:
        raise ValidationFailed(errors)
    assert purpose is not None and kind in CAMPAIGN_KINDS
    campaign = Campaign(
        name=name,
        purpose_id=purpose.id,
        channel=channel,
        kind=kind,
        locale=locale,
        subject=subject,
        body_html=body_html,
        body_text=body_text,
        scheduled_at=scheduled_at,
        created_by=actor,
        lists=lists,
    )
    session.add(campaign)
    session.flush()
    audit.record(session, actor, "campaign.create", "campaign", campaign.id, {"purpose": purpose.slug})
    return campaign


def _lists(session: Session, raw: Any, errors: dict[str, str]) -> list[ContactList]:
    if not isinstance(raw, list) or not raw or not all(isinstance(i, int) for i in raw):
        errors["lists"] = "must be a non-empty array of list ids"
        return []
    ids = sorted(set(raw))
    found = list(session.scalars(select(ContactList).where(ContactList.id.in_(ids))))
    missing = sorted(set(ids) - {lst.id for lst in found})
    if missing:
        errors["lists"] = f"unknown list ids: {missing[:20]}"
    return found


def get(session: Session, campaign_id: int) -> Campaign:
    """The campaign with this id, or NotFound."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound("no such campaign")
    return campaign


def preview(session: Session, campaign: Campaign, at: datetime | None = None) -> LaunchResult:
    """What launching now would do, without writing anything."""
    if campaign.kind == CampaignKind.REQUALIFICATION:
        # A requalification cycle's audience is who is due, not lists: who the next run would ask.
        counts = requalify.preview(session, campaign, at or utcnow())
    else:
        counts = planning.preview(session, campaign, [lst.id for lst in campaign.lists], at or utcnow())
    queued = counts.pop(None, 0)
    return LaunchResult(queued, {str(k): v for k, v in sorted(counts.items())})


def pause(session: Session, campaign: Campaign, actor: str) -> None:
    """Stop claiming new deliveries; messages already handed to the transport finish."""
    states.move(session, campaign, states.PAUSE)
    audit.record(session, actor, "campaign.paused", "campaign", campaign.id)


def cancel(session: Session, campaign: Campaign, actor: str) -> int:
    """Cancel the campaign and every delivery not yet claimed; return how many were cancelled."""
    states.move(session, campaign, states.CANCEL)
    audit.record(session, actor, "campaign.cancelled", "campaign", campaign.id)
    return rowcount(
        session.execute(
            update(Delivery)
            .where(
                Delivery.campaign_id == campaign.id,
                Delivery.status.in_((DeliveryStatus.QUEUED, DeliveryStatus.DEFERRED)),
            )
            .values(status=DeliveryStatus.CANCELLED, reason=DeliveryReason.CAMPAIGN_CANCELLED)
        )
    )


def pending_batches(session: Session, campaign_id: int) -> list[int]:
    """Batch numbers that still have queued deliveries."""
    return list(
        session.scalars(
            select(Delivery.batch_no)
            .where(Delivery.campaign_id == campaign_id, Delivery.status == DeliveryStatus.QUEUED)
            .distinct()
            .order_by(Delivery.batch_no)
        )
    )


def report_for(session: Session, campaign_id: int) -> Report:
    """Counts of deliveries by status, and of skipped ones by reason."""
    return reports_for(session, [campaign_id])[campaign_id]


def reports_for(session: Session, campaign_ids: Sequence[int]) -> dict[int, Report]:
    """The reports of several campaigns, from one grouped query."""
    rows = session.execute(
        select(Delivery.campaign_id, Delivery.status, Delivery.reason, func.count())
        .where(Delivery.campaign_id.in_(campaign_ids))
        .group_by(Delivery.campaign_id, Delivery.status, Delivery.reason)
    ).all()
    reports = {cid: Report() for cid in campaign_ids}
    for campaign_id, status, reason, count in rows:
        report = reports[campaign_id]
        report.by_status[status] = report.by_status.get(status, 0) + count
        if status == DeliveryStatus.SKIPPED and reason:
            report.skipped[reason] = report.skipped.get(reason, 0) + count
    return {
        cid: Report(dict(sorted(r.by_status.items())), dict(sorted(r.skipped.items())))
        for cid, r in reports.items()
    }
