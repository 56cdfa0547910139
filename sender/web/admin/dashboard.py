"""The dashboard, the small JSON answer its script polls for live progress, and where `/` leads."""

from __future__ import annotations

from datetime import timedelta

from flask import jsonify, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy.orm import Session

from sender.db import utcnow
from sender.services.accounts import organisation
from sender.services.campaigns import lifecycle, requalify
from sender.services.deliverability import breaker
from sender.services.errors import NotFound
from sender.services.records import audit, breaches, times
from sender.services.records import dashboard as board
from sender.services.webhooks import notices
from sender.web import labels
from sender.web.admin import report_charts, setup
from sender.web.admin.auth import can, requires
from sender.web.session import get_session, runtime


def index() -> ResponseReturnValue:
    """`/`: first run leads to setup; otherwise the dashboard (which asks to sign in first)."""
    if setup.needs_setup():
        return redirect(url_for("admin.setup"))
    if current_user.is_authenticated:
        return redirect(url_for("admin.dashboard"))
    return redirect(url_for("admin.signin"))


@requires("view")
def dashboard() -> ResponseReturnValue:
    """Campaigns in progress, consents of the last 7 days, delivery outcomes, overdue work."""
    db, now = get_session(), utcnow()
    return render_template(
        "admin/dashboard.html",
        running=board.in_progress(db),
        movements=board.consent_movements(db, now),
        outcomes=board.delivery_outcomes(db, now),
        overdue=board.overdue(db, now, timedelta(seconds=runtime().settings.send_lease_seconds)),
        verification=audit.last_verification(db) if can("audit.read") else None,
        breach_clocks=breaches.countdowns(db, organisation.zone(db), now) if can("breaches.read") else [],
        awaiting=_awaiting_approval(db) if can("campaigns.approve") else [],
        deliverability=breaker.board(db, organisation.effective_settings(db, runtime().settings), now),
        guard=runtime().settings.guard,
        charts=report_charts.dashboard(db, now),
        disabled_hooks=notices.disabled_endpoints(db) if can("webhooks.manage") else [],
    )


def _awaiting_approval(db: Session) -> list[tuple[int, str, str]]:
    """The DPO's queue: (cycle id, name, deadline in the organisation's zone) of each unapproved cycle."""
    zone = organisation.zone(db)
    return [
        (campaign.id, campaign.name, times.shown(cycle.deadline, zone))
        for campaign, cycle in requalify.awaiting_approval(db)
    ]


@requires("view")
def campaign_progress(campaign_id: int) -> ResponseReturnValue:
    """Progress of one campaign as JSON (polled by static/admin/progress.js)."""
    db = get_session()
    try:
        campaign = lifecycle.get(db, campaign_id)
    except NotFound:
        return jsonify({"error": "not_found"}), 404
    p = board.progress(db, campaign)
    return jsonify(
        {
            "status": p.status,
            "status_label": labels.label(p.status, "CampaignStatus"),
            "done": p.done,
            "total": p.total,
            "percent": p.percent,
            "by_status": p.by_status,
        }
    )
