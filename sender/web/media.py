"""Uploaded images, served to anyone who has the link (mail clients, image proxies): no session, no rate limit.

The URL is /media/<public key>: it names the image, never the person who opens it; the answer may be cached
for a year, since an image never changes under its key.
"""

from __future__ import annotations

from flask import Blueprint, Response
from flask.typing import ResponseReturnValue

from sender.services.composer import media
from sender.web.session import get_session, runtime

bp = Blueprint("media", __name__)
CACHE_SECONDS = 365 * 24 * 3600


@bp.get("/media/<key:public_key>")
def image(public_key: str) -> ResponseReturnValue:
    """The stored image from the media store (404 for an unknown key), with long cache headers."""
    found = media.by_key(get_session(), public_key)
    response = Response(media.read(runtime().settings, found), mimetype=found.content_type)
    response.headers["Cache-Control"] = f"public, max-age={CACHE_SECONDS}, immutable"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
