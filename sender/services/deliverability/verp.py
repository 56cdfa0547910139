"""The return path per delivery (VERP): bounces+<token>@BOUNCE_DOMAIN, the token naming the delivery only.

The token is the delivery id in base 36, a dot and an HMAC-SHA256 of it under its own salt (itsdangerous),
so a bounce can be traced to its delivery without any address in it, and nobody can forge one for another
delivery. At most 8 + 7 + 1 + 43 characters: well inside the 64 a local part may hold (RFC 5321 4.5.3.1.1).
Local parts are case-sensitive on the wire (RFC 5321 2.4), and MTAs hand bounces back as they were sent.
"""

from __future__ import annotations

import hashlib
import string
from functools import lru_cache

from itsdangerous import BadSignature, Signer

from sender.config import Settings

PREFIX = "bounces+"
SALT = "verp-v1"
_DIGITS = string.digits + string.ascii_lowercase


@lru_cache(maxsize=8)
def _signer(keys: tuple[str, ...]) -> Signer:
    # Signs with the newest key and accepts the older ones, as the links do (SECRET_KEYS rotation).
    return Signer(list(keys), salt=SALT, sep=".", digest_method=hashlib.sha256)


def _base36(number: int) -> str:
    digits = ""
    while True:
        number, rest = divmod(number, 36)
        digits = _DIGITS[rest] + digits
        if not number:
            return digits


def token(settings: Settings, delivery_id: int) -> str:
    """The signed token naming one delivery."""
    return _signer(settings.secret_keys).sign(_base36(delivery_id)).decode("ascii")


def envelope_sender(settings: Settings, delivery_id: int) -> str | None:
    """bounces+<token>@BOUNCE_DOMAIN for this delivery; None when BOUNCE_DOMAIN is unset."""
    domain = settings.deliverability.bounce_domain
    if not domain:
        return None
    return f"{PREFIX}{token(settings, delivery_id)}@{domain}"


def delivery_of(settings: Settings, address: str) -> int | None:
    """The delivery a VERP address names; None for any other address and for a forged or altered token."""
    local, at, _domain = address.strip().strip("<>").rpartition("@")
    if not at or not local.startswith(PREFIX):
        return None
    value = local[len(PREFIX) :]
    try:
        signed = _signer(settings.secret_keys).unsign(value).decode("ascii")
    except (BadSignature, UnicodeError):
        return None
    try:
        return int(signed, 36)
    except ValueError:
        return None
