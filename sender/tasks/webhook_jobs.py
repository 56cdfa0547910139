"""RQ entry points of outgoing webhooks: ids in, one service call."""

from __future__ import annotations

from typing import Any

from flask import current_app

from sender.runtime import Runtime
from sender.services.webhooks import delivery, notices


def _runtime() -> Runtime:
    runtime: Runtime = current_app.extensions["sender"]
    return runtime


def deliver_webhook(delivery_id: int, attempt: int) -> dict[str, Any]:
    """Make one attempt at delivering one event to one endpoint."""
    return {"outcome": delivery.attempt(_runtime(), delivery_id, attempt)}


def notify_endpoint_disabled(endpoint_id: int) -> dict[str, Any]:
    """Email the admins that an endpoint was disabled."""
    return {"sent": notices.email_admins(_runtime(), endpoint_id)}
