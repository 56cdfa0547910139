"""What every provider module shares: the refusal, the freshness rule, JSON access and the replay ledger."""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
from typing import Any

from redis import Redis

from sender.services.errors import ValidationFailed

SEEN_PREFIX = "sender:webhooks:seen:"
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._ -]{0,31}")


class Refused(Exception):
    """Not the provider's request (bad or missing signature, stale, replayed): 403, and nothing changes."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def fresh(timestamp: float, now: float, tolerance: int) -> None:
    """Refuse a signed timestamp outside the tolerance window: an old signature is a replay."""
    if not math.isfinite(timestamp) or abs(now - timestamp) > tolerance:
        raise Refused("timestamp outside the tolerance window")


def same_secret(given: str, expected: str) -> bool:
    """Compare a presented secret with ours in constant time; an unset secret matches nothing."""
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def json_document(body: bytes) -> Any:
    """The request's JSON, or a precise 400 (the signature held, so the sender is the provider)."""
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValidationFailed({"body": "must be a JSON document"}) from None


def mapping(value: Any, field: str) -> dict[str, Any]:
    """A JSON object, or a 400 naming the field."""
    if not isinstance(value, dict):
        raise ValidationFailed({field: "must be a JSON object"})
    return value


def text(value: Any) -> str:
    """A JSON scalar as text; anything else (missing, an object, a lone surrogate) as empty."""
    if isinstance(value, str):
        # JSON may carry an escaped lone surrogate, which no column or hash can take.
        return value if value.isascii() or _encodable(value) else ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def _encodable(value: str) -> bool:
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def code(value: Any) -> str:
    """A provider's diagnostic code ("5.1.1", 550, "General"), or empty: free text may hold an address."""
    found = text(value).strip()
    return found if _CODE.fullmatch(found) else ""


def claim_once(redis: Redis, scope: str, token: str, event_id: str, ttl: int) -> bool:
    """Bind a one-time signature token to the event it signed, for `ttl` seconds.

    True for its first use and for the provider's own retry of the same event; False when the token comes
    back with another event (a captured signature replayed over a forged body).
    """
    key = SEEN_PREFIX + scope + ":" + hashlib.sha256(token.encode()).hexdigest()
    if redis.set(key, event_id, nx=True, ex=ttl):
        return True
    held = redis.get(key)
    return held is not None and hmac.compare_digest(bytes(held), event_id.encode())  # type: ignore[arg-type]


def over_tls(public_base_url: str, scheme: str) -> None:
    """Refuse credentials sent over plain http to a site served over https (the production set-up).

    The scheme is the one the client used: behind a TLS-terminating proxy, PROXY_HOPS makes the app read it
    from X-Forwarded-Proto, as everywhere else.
    """
    if public_base_url.startswith("https://") and scheme != "https":
        raise Refused("credentials sent over plain http")
