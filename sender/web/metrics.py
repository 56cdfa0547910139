"""GET /metrics: Prometheus metrics behind a bearer token (METRICS_TOKEN); without the setting, a 404.

Scrapers send `Authorization: Bearer <METRICS_TOKEN>`. The answer holds counts by channel, outcome, reason and
consent source, timings and queue depths: no personal data.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, request

from sender.metrics.exposition import CONTENT_TYPE_LATEST, QueueCollector, authorised, render
from sender.tasks.queue import queue_stats
from sender.web.session import runtime

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def metrics() -> Response:
    """The exposition text of every process sharing this host's metrics folder, and the queues' depths."""
    token = runtime().settings.metrics_token
    if not token:
        abort(404)
    if not authorised(request.headers.get("Authorization"), token):
        return Response("unauthorised\n", 401, {"WWW-Authenticate": "Bearer"}, mimetype="text/plain")
    redis = runtime().redis
    return Response(render(QueueCollector(lambda: queue_stats(redis))), content_type=CONTENT_TYPE_LATEST)
