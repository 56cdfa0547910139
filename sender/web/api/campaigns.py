"""API resource: campaigns (create, inspect, duplicate, preview the audience, send, pause, resume, cancel)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import g, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from sender.enums import AbDecision, BreakerTrip, CampaignKind
from sender.models import AbTest, Campaign, Contact, Delivery, Purpose
from sender.models.campaigns import CAMPAIGN_KINDS, DELIVERY_STATUSES
from sender.services.campaigns import ab_tests, duplicate, launch, lifecycle
from sender.services.deliverability import rates
from sender.services.messages import formats, sms, variants
from sender.web.api.inputs import parse_body, parse_query
from sender.web.api.paging import decode_cursor, page_body
from sender.web.api.present import ts
from sender.web.api.schemas.campaigns import CampaignInput, DeliveriesQuery, SendInput, WinnerInput
from sender.web.api.spec import ID, TIMESTAMP, Component, fields_of, nullable, obj, page_of
from sender.web.session import get_session, runtime


def present(
    campaign: Campaign,
    report: lifecycle.Report | None = None,
    feedback: rates.Rates | None = None,
    ab_test: ab_tests.Report | None = None,
    purpose: Purpose | None = None,
) -> dict[str, Any]:
    """Campaign as JSON, with its delivery counts, its A/B test and, for email, its bounces and complaints."""
    session = get_session()
    report = report or lifecycle.report_for(session, campaign.id)
    if ab_test is None:
        ab_test = ab_tests.report(session, campaign, report)
    if feedback is None and campaign.channel == "email":
        feedback = rates.campaigns_total(session, [campaign.id])[campaign.id]
    purpose = purpose or session.get(Purpose, campaign.purpose_id)
    return {
        "id": campaign.id,
        "name": campaign.name,
        "purpose": purpose.slug if purpose else None,
        "channel": campaign.channel,
        "kind": campaign.kind,
        "locale": campaign.locale,
        "status": campaign.status,
        "lists": sorted(lst.id for lst in campaign.lists),
        "subject": campaign.subject,
        "body_format": campaign.body_format,
        "body_source": formats.source_of(campaign.body_format, campaign.body_source, campaign.body_html),
        "body_html": campaign.body_html,
        "body_text": campaign.body_text,
        "body_text_derived": campaign.body_text_derived,
        "template_id": campaign.template_id,
        "tracking_mode": campaign.tracking_mode,
        "ab_test": _ab_test(ab_test),
        "scheduled_at": ts(campaign.scheduled_at),
        "created_at": ts(campaign.created_at),
        "launched_at": ts(campaign.launched_at),
        "finished_at": ts(campaign.finished_at),
        "counts": {"by_status": report.by_status, "skipped": report.skipped},
        "paused_reason": campaign.paused_reason,
        "deliverability": _deliverability(feedback) if campaign.channel == "email" and feedback else None,
        # What every person receives, for a sample contact: texts, encoding and segments (R21).
        "sms": sms.preview(session, runtime().settings, campaign).as_dict()
        if campaign.channel == "sms"
        else None,
    }


def create_campaign() -> ResponseReturnValue:
    """Create a draft campaign; template errors are reported now, with their line."""
    draft = parse_body(CampaignInput)
    campaign = lifecycle.create(get_session(), draft, draft.lists, g.actor, scheduled_at=draft.scheduled_at)
    return jsonify(present(campaign)), 201


def _deliverability(found: rates.Rates) -> dict[str, Any]:
    """Bounces and complaints over the campaign's messages sent, with rates in percent."""
    return {
        "sent": found.sent,
        "hard_bounces": found.hard_bounces,
        "soft_bounces": found.soft_bounces,
        "complaints": found.complaints,
        "hard_bounce_rate": round(found.hard_bounce_rate, 3),
        "soft_bounce_rate": round(found.soft_bounce_rate, 3),
        "complaint_rate": round(found.complaint_rate, 3),
    }


def list_campaigns() -> ResponseReturnValue:
    """Campaigns, newest first."""
    session = get_session()
    rows = session.scalars(
        select(Campaign)
        .where(Campaign.kind != CampaignKind.SEQUENCE)
        .order_by(Campaign.id.desc())
        .limit(500)
        # What each campaign shows is loaded for the whole page in one query each, not one per campaign.
        .options(
            selectinload(Campaign.ab_test).selectinload(AbTest.variants),
            selectinload(Campaign.lists),
        )
    ).all()
    purposes = {
        p.id: p for p in session.scalars(select(Purpose).where(Purpose.id.in_({c.purpose_id for c in rows})))
    }
    # Grouped queries for every listed campaign's counts and A/B tests, not some per campaign.
    reports = lifecycle.reports_for(session, [c.id for c in rows])
    tests = ab_tests.reports_for(session, rows, reports)
    feedback = rates.campaigns_total(session, [c.id for c in rows if c.channel == "email"])
    return jsonify(
        {
            "items": [
                present(c, reports[c.id], feedback.get(c.id), tests.get(c.id), purposes.get(c.purpose_id))
                for c in rows
            ]
        }
    )


def get_campaign(campaign_id: int) -> ResponseReturnValue:
    """One campaign with counts by delivery status and by skip reason."""
    return jsonify(present(lifecycle.get(get_session(), campaign_id)))


def preview_audience(campaign_id: int) -> ResponseReturnValue:
    """How many would be queued and how many refused, by reason; writes nothing."""
    session = get_session()
    result = lifecycle.preview(session, lifecycle.get(session, campaign_id))
    return jsonify({"queued": result.queued, "skipped": result.skipped})


def send_campaign(campaign_id: int) -> ResponseReturnValue:
    """Launch now, or schedule when the campaign has a future scheduled_at; `{"now": true}` forces now."""
    options = parse_body(SendInput) if request.get_data(cache=True) else SendInput()
    sent = launch.send(get_session(), runtime().settings, campaign_id, g.actor, now=options.now)
    return jsonify({"status": sent.status, "queued": sent.queued, "skipped": sent.skipped}), 202


def duplicate_campaign(campaign_id: int) -> ResponseReturnValue:
    """Copy a campaign, whatever its status, into a new draft ("Copy of …")."""
    session = get_session()
    copy = duplicate.duplicate(session, lifecycle.get(session, campaign_id), g.actor)
    return jsonify(present(copy)), 201


def _ab_test(found: ab_tests.Report | None) -> dict[str, Any] | None:
    """An A/B test: its rules, each variant's content and figures, and the decision once taken."""
    if found is None:
        return None
    return {
        "test_percent": found.test_percent,
        "wait_minutes": found.wait_minutes,
        "decide_by": found.decide_by,
        "decide_at": ts(found.decide_at),
        "variants": [
            {
                "name": v.name,
                "subject": v.subject,
                "body_html": v.body_html,
                "body_text": v.body_text,
                "sent": v.sent,
                "unique_clicks": v.unique_clicks,
                "clicks": v.clicks,
                "click_rate": round(v.click_rate, 3),
            }
            for v in found.variants
        ],
        "waiting": found.waiting,
        "winner": found.winner_name,
        "decided_at": ts(found.decided_at),
        "decided_by": found.decided_by,
    }


def pick_ab_winner(campaign_id: int) -> ResponseReturnValue:
    """Send the variant a person picks to the rest of the audience (the test's figures are kept)."""
    picked = parse_body(WinnerInput)
    session = get_session()
    campaign = lifecycle.get(session, campaign_id)
    ab_tests.decide(session, campaign, g.actor, variants.NAMES.index(picked.variant))
    return jsonify(present(campaign))


def _act(campaign_id: int, action: Callable[[Session, Campaign], object]) -> ResponseReturnValue:
    """Apply a lifecycle change and answer with the campaign (the request's unit of work commits it)."""
    session = get_session()
    campaign = lifecycle.get(session, campaign_id)
    action(session, campaign)
    return jsonify(present(campaign))


def pause_campaign(campaign_id: int) -> ResponseReturnValue:
    """Stop claiming deliveries until resumed."""
    return _act(campaign_id, lambda session, c: lifecycle.pause(session, c, g.actor))


def resume_campaign(campaign_id: int) -> ResponseReturnValue:
    """Resume a paused campaign and re-enqueue its unfinished batches."""
    return _act(campaign_id, lambda session, c: launch.resume(session, c, g.actor))


def cancel_campaign(campaign_id: int) -> ResponseReturnValue:
    """Cancel the campaign and its unsent deliveries."""
    return _act(campaign_id, lambda session, c: lifecycle.cancel(session, c, g.actor))


def list_deliveries(campaign_id: int) -> ResponseReturnValue:
    """Deliveries of a campaign, paged by id, optionally filtered by status."""
    session = get_session()
    lifecycle.get(session, campaign_id)
    query = parse_query(DeliveriesQuery)
    limit = query.limit
    rows = launch.deliveries_page(
        session, campaign_id, query.status, decode_cursor(query.cursor) or 0, limit + 1
    )
    public_ids = _public_ids(rows[:limit])
    return jsonify(
        page_body(rows[:limit], len(rows) > limit, lambda d: d.id, lambda d: _delivery(d, public_ids))
    )


def _public_ids(rows: list[Delivery]) -> dict[int, str]:
    ids = {d.contact_id for d in rows}
    if not ids:
        return {}
    pairs = get_session().execute(select(Contact.id, Contact.public_id).where(Contact.id.in_(ids)))
    return {row.id: row.public_id for row in pairs}


def _delivery(d: Delivery, public_ids: dict[int, str]) -> dict[str, Any]:
    return {
        "id": d.id,
        "contact": public_ids.get(d.contact_id),
        "status": d.status,
        "reason": d.reason,
        "attempts": d.attempts,
        "sent_at": ts(d.sent_at),
        "provider_id": d.provider_id,
        "last_error": d.last_error,
        # A deferred delivery (quiet hours) goes back to the queue at this moment.
        "not_before": ts(d.not_before),
        "provider_status": d.provider_status,
    }


_STR = {"type": "string"}
_COUNTS = {"type": "object", "additionalProperties": {"type": "integer"}}
_INT = {"type": "integer"}
_PERCENT = {"type": "number", "description": "In percent of the messages sent."}
_AB_VARIANT = obj(
    {
        "name": {
            "type": "string",
            "enum": list(variants.NAMES),
            "description": "A is the campaign's own content.",
        },
        "subject": _STR,
        "body_html": _STR,
        "body_text": _STR,
        "sent": _INT,
        "unique_clicks": _INT,
        "clicks": _INT,
        "click_rate": {"type": "number", "description": "Unique clicks in percent of the messages sent."},
    },
    ["name", "subject", "body_html", "body_text", "sent", "unique_clicks", "clicks", "click_rate"],
)
_AB_TEST = obj(
    {
        "test_percent": _INT,
        "wait_minutes": _INT,
        "decide_by": {"type": "string", "enum": [str(d) for d in AbDecision]},
        "decide_at": {
            **nullable(TIMESTAMP),
            "description": "When the winner is chosen by clicks (set at launch).",
        },
        "variants": {"type": "array", "items": _AB_VARIANT},
        "waiting": {**_INT, "description": "Deliveries waiting for the winner."},
        "winner": nullable({"type": "string", "enum": list(variants.NAMES)}),
        "decided_at": nullable(TIMESTAMP),
        "decided_by": {**nullable(_STR), "description": "A user, or scheduler for the decision by clicks."},
    },
    ["test_percent", "wait_minutes", "decide_by", "variants", "waiting", "winner"],
)
CAMPAIGN = Component(
    "Campaign",
    obj(
        {
            "id": {"type": "integer"},
            **{k: v for k, v in fields_of(CampaignInput).items() if k != "scheduled_at"},
            # Requalification campaigns are created through /requalifications but listed here too.
            "kind": {"type": "string", "enum": list(CAMPAIGN_KINDS)},
            "lists": {"type": "array", "items": ID, "description": "Empty for a requalification campaign."},
            "purpose": nullable(_STR),
            "template_id": {**nullable(ID), "description": "The template (layout) the body is wrapped in."},
            "ab_test": {**nullable(_AB_TEST), "description": "The A/B test, its figures and its decision."},
            "status": {
                "type": "string",
                "enum": ["draft", "scheduled", "sending", "sent", "paused", "cancelled"],
            },
            "scheduled_at": nullable(TIMESTAMP),
            "created_at": TIMESTAMP,
            "launched_at": nullable(TIMESTAMP),
            "finished_at": nullable(TIMESTAMP),
            "counts": obj({"by_status": _COUNTS, "skipped": _COUNTS}, ["by_status", "skipped"]),
            "paused_reason": nullable(
                {
                    "type": "string",
                    "enum": [str(reason) for reason in BreakerTrip],
                    "description": "Why the circuit breaker paused it; null for a pause by a person.",
                }
            ),
            "deliverability": nullable(
                obj(
                    {
                        "sent": _INT,
                        "hard_bounces": _INT,
                        "soft_bounces": _INT,
                        "complaints": _INT,
                        "hard_bounce_rate": _PERCENT,
                        "soft_bounce_rate": _PERCENT,
                        "complaint_rate": _PERCENT,
                    },
                    [
                        "sent",
                        "hard_bounces",
                        "soft_bounces",
                        "complaints",
                        "hard_bounce_rate",
                        "soft_bounce_rate",
                        "complaint_rate",
                    ],
                    description="Email only: reports about the messages sent, and their rates.",
                )
            ),
            "sms": nullable(
                obj(
                    {
                        "messages": {
                            "type": "integer",
                            "description": "2 when the mentions need an SMS of their own",
                        },
                        "encoding": {"type": "string", "enum": ["GSM-7", "UCS-2"]},
                        "segments": {"type": "integer"},
                        "texts": {"type": "array", "items": _STR},
                    },
                    ["messages", "encoding", "segments", "texts"],
                )
            ),
        },
        ["id", "name", "purpose", "channel", "kind", "status", "lists", "counts"],
    ),
)
AUDIENCE_PREVIEW = Component(
    "AudiencePreview", obj({"queued": {"type": "integer"}, "skipped": _COUNTS}, ["queued", "skipped"])
)
SEND_RESULT = Component(
    "SendResult",
    obj({"status": _STR, "queued": {"type": "integer"}, "skipped": _COUNTS}, ["status", "queued", "skipped"]),
)
DELIVERY = Component(
    "Delivery",
    obj(
        {
            "id": {"type": "integer"},
            "contact": nullable(_STR),
            "status": {"type": "string", "enum": list(DELIVERY_STATUSES)},
            "reason": nullable(_STR),
            "attempts": {"type": "integer"},
            "sent_at": nullable(TIMESTAMP),
            "provider_id": nullable(_STR),
            "last_error": nullable(_STR),
            "not_before": nullable(TIMESTAMP),
            "provider_status": nullable(_STR),
        },
        ["id", "contact", "status", "reason", "attempts"],
    ),
)
DELIVERY_PAGE = Component("DeliveryPage", page_of(DELIVERY))
