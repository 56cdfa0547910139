"""RQ entry points: ids in, a service call (one unit of work), a small JSON-able result out."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from flask import current_app

from sender.runtime import Runtime
from sender.services.campaigns import ab_tests, launch
from sender.services.messages import transactional


def _runtime() -> Runtime:
    # worker.py pushes an app context before forking, so every job runs inside it.
    runtime: Runtime = current_app.extensions["sender"]
    return runtime


def send_batch(campaign_id: int, batch_no: int) -> dict[str, Any]:
    """Send one batch of a campaign."""
    report = asdict(launch.run_batch(_runtime(), campaign_id, batch_no))
    # Job results are JSON: the slot of deferred deliveries as ISO 8601.
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in report.items()}


def release_deferred(campaign_id: int) -> dict[str, Any]:
    """Queue again the deliveries deferred until now (quiet hours)."""
    return {"enqueued": launch.release_deferred(_runtime(), campaign_id)}


def launch_campaign(campaign_id: int) -> dict[str, Any]:
    """Launch a scheduled campaign now (planned against the audience of this moment)."""
    result = launch.launch_scheduled(_runtime(), campaign_id)
    if isinstance(result, str):
        return {"skipped": result}
    return {"queued": result.queued, "skipped": result.skipped}


def decide_ab_test(campaign_id: int) -> dict[str, Any]:
    """Choose an A/B test's winner by its clicks, now that the wait is over."""
    return {"outcome": ab_tests.decide_when_due(_runtime(), campaign_id)}


def sweep() -> dict[str, Any]:
    """Periodic clean-up of interrupted sends."""
    return asdict(launch.sweep(_runtime()))


def send_transactional(message_id: int) -> dict[str, Any]:
    """Send one transactional message."""
    return {"outcome": transactional.deliver(_runtime(), message_id)}
