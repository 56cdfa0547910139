"""Tracked links (/r/<token>) and the open pixel (/r/o/<token>): one event recorded, then the target.

These GETs record an event, unlike every other public page: that is what a tracked link is, and the
classification (services/engagement/classify.py) keeps mail scanners out of the counts. A token that does
not name a recorded link of its campaign answers 404 and records nothing.
"""

from __future__ import annotations

import base64

from flask import Response, redirect, request
from flask.typing import ResponseReturnValue

from sender.db import utcnow
from sender.services.engagement import events
from sender.services.engagement.classify import Visit
from sender.web.public import bp
from sender.web.session import get_session, runtime

# A transparent 1x1 GIF.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
MAX_AGENT = 512


def _visit() -> Visit:
    return Visit(
        method=request.method,
        address=request.remote_addr or "",
        user_agent=(request.user_agent.string or "")[:MAX_AGENT],
        at=utcnow(),
    )


@bp.get("/r/<token>")
def follow(token: str) -> ResponseReturnValue:
    """Record the click and send the browser on to the link's target."""
    rt = runtime()
    target, _ = events.click(get_session(), rt.settings, rt.tokens, rt.redis, token, _visit())
    response = redirect(target, 302)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.get("/r/o/<token>")
def pixel(token: str) -> ResponseReturnValue:
    """Record the open and answer a transparent pixel that no cache keeps."""
    rt = runtime()
    events.open_(get_session(), rt.tokens, rt.redis, token, _visit())
    return Response(PIXEL, mimetype="image/gif", headers={"Cache-Control": "no-store, private"})
