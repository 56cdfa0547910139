"""Rate limits on the public pages (Flask-Limiter, counters in the shared Redis so every process agrees).

Unsubscribe links are counted per link, not per address: mailbox providers send the one-click POSTs of
millions of people from a few addresses, and none of those may be refused. Everything else is counted per
client address.
"""

from __future__ import annotations

import hashlib

from flask import Blueprint, Flask, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from sender.config import Settings
from sender.redis_client import embedded_redis_url

PER_LINK_ENDPOINTS = frozenset({"public.unsubscribe_confirm", "public.unsubscribe_post"})


def storage_uri(settings: Settings) -> str:
    """The limits library's URI for our Redis (a unix socket is spelled redis+unix://)."""
    url = settings.redis_url or embedded_redis_url(settings)
    if url.startswith("unix://"):
        return "redis+unix://" + url.removeprefix("unix://")
    return url


def _key() -> str:
    if request.endpoint in PER_LINK_ENDPOINTS:
        # A digest of the path: the token itself never becomes a Redis key.
        return "link:" + hashlib.sha256(request.path.encode()).hexdigest()[:32]
    return get_remote_address()


def init_app(app: Flask, settings: Settings, public: Blueprint) -> Limiter:
    """Limit every route of the public blueprint to PUBLIC_RATE_LIMIT; answers 429 when exceeded."""
    limiter = Limiter(
        _key,
        app=app,
        storage_uri=storage_uri(settings),
        key_prefix="sender-limits",
        strategy="moving-window",
        headers_enabled=True,
    )
    limiter.limit(lambda: settings.public_rate_limit)(public)
    app.extensions["sender_limiter"] = limiter
    return limiter
