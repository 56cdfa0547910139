"""The visitor key of an engagement event: distinct visitors per day, no one identified.

The key is HMAC-SHA256 of what the request says of its client (address and user agent), or of the delivery
for a per-person link, under a random salt of the day (UTC). The salt lives in Redis for two days at most
(so every process of the deployment agrees on it) and is written nowhere else: once it is gone, no key can
be linked back to an address, not even by us. That is what makes the measure aggregate, and so exempt
from tracking consent (CNIL's draft on pixels: measuring the global rate is exempt); Plausible Analytics
counts unique visitors the same way.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import date

from redis import Redis
from redis.exceptions import RedisError

SALT_KEY = "sender:engagement-salt:"
SALT_SECONDS = 2 * 24 * 3600
KEY_CHARS = 32

_salts: dict[date, bytes] = {}


def salt(redis: Redis, day: date) -> bytes:
    """The day's salt, shared by every process through Redis, remembered by this one for the day."""
    known = _salts.get(day)
    if known is not None:
        return known
    name = SALT_KEY + day.isoformat()
    try:
        redis.set(name, secrets.token_bytes(32), nx=True, ex=SALT_SECONDS)
        value = redis.get(name)
    except RedisError:
        value = None
    if not isinstance(value, bytes):
        # Without Redis this process draws its own: counts stay anonymous, uniques may count a visitor of
        # two processes twice. It is not remembered, so the shared salt is used again once Redis is back.
        return secrets.token_bytes(32)
    # Yesterday's salts are dropped from memory as soon as a new day's is drawn.
    _salts.clear()
    _salts[day] = value
    return value


def key(day_salt: bytes, *parts: str) -> str:
    """The keyed hash of what identifies a visitor for one day."""
    message = "\x1f".join(parts).encode()
    return hmac.new(day_salt, message, hashlib.sha256).hexdigest()[:KEY_CHARS]
