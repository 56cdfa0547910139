"""Rate limits on the public pages (Flask-Limiter, counters in the shared Redis so every process agrees).

Unsubscribe links are counted per link, not per address: mailbox providers send the one-click POSTs of
millions of people from a few addresses, and none of those may be refused. Only a link whose signature
verifies gets a counter of its own; a forged one is counted against its client, so forging links adds no
keys. Everything else is counted per client address, and so, on every page acting on a link, is each
answer refusing one.

Two limiters share those counters and differ only in what a Redis outage does: withdrawals (the
unsubscribe page and its one-click POST) fail open, because a withdrawal must never wait on Redis; every
other page fails closed, and the storage error becomes a 503 with Retry-After (`sender.web.errors`).
"""

from __future__ import annotations

import hashlib

from flask import Blueprint, Flask, Response, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from sender.runtime import Runtime
from sender.services.consent.links import read_unsubscribe
from sender.tokens import TokenInvalid
from sender.web.public.portal import REFUSED_STATUS
from sender.web.public.requalify import INVALID_STATUS as REQUALIFY_INVALID_STATUS
from sender.web.public.unsubscribe import INVALID_STATUS as UNSUBSCRIBE_INVALID_STATUS

WITHDRAWAL_ENDPOINTS = frozenset({"public.unsubscribe_confirm", "public.unsubscribe_post"})
# Pages whose link token comes in the form rather than in the path.
TOKEN_IN_BODY_ENDPOINTS = frozenset({"public.portal_act"})
# The one budget, per client, of links refused (forged, expired, spent, unknown) by all pages together.
INVALID_LINK_SCOPE = "invalid-link"
# The statuses of the pages that refuse a link: the unsubscribe and requalification ones, the portal's.
INVALID_LINK_STATUSES = frozenset({UNSUBSCRIBE_INVALID_STATUS, REQUALIFY_INVALID_STATUS, REFUSED_STATUS})
KEY_PREFIX = "sender-limits"


# The limits library picks its Redis storage by this scheme; the connections come from the runtime's pool
# (sender.redis_client), so the counters follow a Sentinel failover as every other use of Redis does.
STORAGE_URI = "redis://"


def is_withdrawal() -> bool:
    """Whether this request is an unsubscribe (its page or its one-click POST)."""
    return request.endpoint in WITHDRAWAL_ENDPOINTS


def _signed_link() -> bool:
    """Whether this withdrawal's token carries our signature (forging one needs the secret key)."""
    token = (request.view_args or {}).get("token", "")
    try:
        read_unsubscribe(current_app.extensions["sender"].tokens, token)
    except TokenInvalid:
        return False
    return True


def _carries_link() -> bool:
    """Whether this page acts on a signed link (unsubscribe, portal, confirmation, requalification)."""
    return "token" in (request.view_args or {}) or request.endpoint in TOKEN_IN_BODY_ENDPOINTS


def _spared_by_invalid_link_limit() -> bool:
    # Pages without a link have nothing to refuse; a signed unsubscribe link is never refused.
    return not _carries_link() or (is_withdrawal() and _signed_link())


def _key() -> str:
    if is_withdrawal() and _signed_link():
        # A digest of the path: the token itself never becomes a Redis key.
        return "link:" + hashlib.sha256(request.path.encode()).hexdigest()[:32]
    return get_remote_address()


def _refused_link(response: Response) -> bool:
    return response.status_code in INVALID_LINK_STATUSES


def _limiter(app: Flask, runtime: Runtime, *, fail_open: bool) -> Limiter:
    return Limiter(
        _key,
        app=app,
        storage_uri=STORAGE_URI,
        # Flask-Limiter hands these to the limits storage, which takes a redis-py pool (typed as str | int).
        storage_options={"connection_pool": runtime.redis.connection_pool},  # type: ignore[dict-item]
        key_prefix=KEY_PREFIX,
        strategy="moving-window",
        headers_enabled=True,
        # Flask-Limiter's own switch: a storage error lets the request through instead of raising.
        swallow_errors=fail_open,
    )


def init_app(app: Flask, runtime: Runtime, blueprints: list[Blueprint]) -> Limiter:
    """Limit every route of the public blueprints to PUBLIC_RATE_LIMIT (429 when exceeded); the closed limiter.

    Each page acting on a link also counts the links it refuses per client, against the same limit but one
    budget for all of those pages together; a properly signed unsubscribe link is never refused by it.
    """
    settings = runtime.settings
    closed = _limiter(app, runtime, fail_open=False)
    closed.request_filter(is_withdrawal)
    opened = _limiter(app, runtime, fail_open=True)
    opened.request_filter(lambda: not is_withdrawal())
    for limiter in (closed, opened):
        for blueprint in blueprints:
            limiter.limit(lambda: settings.public_rate_limit)(blueprint)
            limiter.shared_limit(
                lambda: settings.public_rate_limit,
                INVALID_LINK_SCOPE,
                key_func=get_remote_address,
                deduct_when=_refused_link,
                exempt_when=_spared_by_invalid_link_limit,
            )(blueprint)
    app.extensions["sender_limiter"] = closed
    return closed
