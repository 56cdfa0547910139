"""GET /healthz: is the database reachable, is Redis reachable (for load balancers and `sender serve`)."""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from sender.web.session import get_session, runtime

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """200 with {"database": "ok", "redis": "ok"}, or 503 naming what is down (no error details)."""
    status = {"database": "ok", "redis": "ok"}
    try:
        get_session().execute(text("SELECT 1"))
    except Exception as exc:
        # The exception text may hold a host or user name: log its type only, answer with no detail.
        log.warning("health check: database unavailable (%s)", type(exc).__name__)
        status["database"] = "unavailable"
    try:
        runtime().redis.ping()
    except Exception as exc:
        log.warning("health check: redis unavailable (%s)", type(exc).__name__)
        status["redis"] = "unavailable"
    healthy = all(value == "ok" for value in status.values())
    return jsonify(status), 200 if healthy else 503
