"""Signed links: one salt per kind of link, key rotation, opaque ids only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from itsdangerous import (
    BadData,
    SignatureExpired,
    Signer,
    TimestampSigner,
    URLSafeSerializer,
    URLSafeTimedSerializer,
    want_bytes,
)

from sender.addresses import has_phone


@dataclass(frozen=True)
class LinkKind:
    """A kind of signed link: its salt, and how long its tokens stay valid (None: forever)."""

    salt: str
    max_age: int | None
    # Untimed tokens carry no signing time: the same payload always gives the same token (tracked links,
    # where a timestamp would tell recipients apart by when their message was rendered).
    timed: bool = True


# Unsubscribe links never expire (withdrawal "at any time", Art. 7(3) and 21(2)); links that open a
# person's data do (R37): the portal's lifetime is PORTAL_LINK_TTL, a sign-up's SIGNUP_TTL_DAYS.
KINDS: dict[str, LinkKind] = {
    "unsubscribe": LinkKind("unsubscribe-v1", None),
    "portal": LinkKind("portal-v2", 72 * 3600),
    "confirm": LinkKind("confirm-optin-v1", 30 * 24 * 3600),
    "access": LinkKind("access-v1", 72 * 3600),
    "signup": LinkKind("signup-confirm-v1", 7 * 24 * 3600),
    # Confirmations asked through the person's own address: an erasure, a corrected address (PORTAL_LINK_TTL).
    "erase": LinkKind("erase-confirm-v1", 72 * 3600),
    "address": LinkKind("address-confirm-v1", 72 * 3600),
    # Requalification answers: their own salts; the cycle's deadline, not the token, decides when they end.
    "requalify-confirm": LinkKind("requalify-confirm-v1", None),
    "requalify-decline": LinkKind("requalify-decline-v1", None),
    # Tracked links and the open pixel (services/engagement): a link id, and a delivery id only for a
    # contact with tracking consent. They never expire: a click on an old message still finds its target.
    "click": LinkKind("click-v1", None, timed=False),
    "open": LinkKind("open-v1", None, timed=False),
}


# Signed is not encrypted: anyone holding a link can read its payload, so it must hold no address (R34).
def _refuse_addresses(value: Any) -> None:
    """Raise ValueError if a payload value looks like an email address or holds a phone number."""
    if isinstance(value, dict):
        for item in value.values():
            _refuse_addresses(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _refuse_addresses(item)
    elif isinstance(value, str) and ("@" in value or has_phone(value)):
        raise ValueError("link tokens carry opaque ids only, never an email address or phone number")


class _KeyCaching(Signer):
    """itsdangerous's signer, each (key, salt)'s derived key computed once instead of for every token.

    Tokens and their checks are byte for byte those of the plain signer: only the derivation is remembered.
    """

    _derived: dict[tuple[bytes, bytes, str], bytes] = {}

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        """The derived key of `secret_key` (default: the newest) for this signer's salt."""
        key = self.secret_keys[-1] if secret_key is None else want_bytes(secret_key)
        slot = (key, self.salt, self.key_derivation)
        derived = self._derived.get(slot)
        if derived is None:
            derived = self._derived[slot] = super().derive_key(key)
        return derived


class _KeyCachingSigner(_KeyCaching, TimestampSigner):
    """The timed signer with the same remembered derivation."""


class TokenInvalid(Exception):
    """A token is tampered, of the wrong kind, signed by an unknown key or malformed."""


class TokenExpired(TokenInvalid):
    """A token was valid but is older than its kind allows."""


class TokenService:
    """Signs with the newest of SECRET_KEYS and verifies with all of them."""

    def __init__(self, secret_keys: Sequence[str]) -> None:
        if not secret_keys:
            raise ValueError("at least one secret key is needed")
        # itsdangerous takes a list oldest-to-newest: it signs with the last and tries every one.
        self._keys = list(secret_keys)
        # One serializer per kind, built once (each message signs two links: measured, building them was
        # as costly as signing).
        self._serializers: dict[str, URLSafeSerializer | URLSafeTimedSerializer] = {
            kind: (
                URLSafeTimedSerializer(self._keys, salt=spec.salt, signer=_KeyCachingSigner)
                if spec.timed
                else URLSafeSerializer(self._keys, salt=spec.salt, signer=_KeyCaching)
            )
            for kind, spec in KINDS.items()
        }

    def _serializer(self, kind: str) -> tuple[URLSafeSerializer | URLSafeTimedSerializer, LinkKind]:
        return self._serializers[kind], KINDS[kind]

    def dumps(self, kind: str, payload: dict[str, Any]) -> str:
        """Sign a payload of opaque ids for one kind of link; refuse one holding an address."""
        _refuse_addresses(payload)
        serializer, _ = self._serializer(kind)
        return str(serializer.dumps(payload))

    def loads(self, kind: str, token: str, max_age: int | None = None) -> dict[str, Any]:
        """Verify a token of one kind and return its payload; raise TokenInvalid or TokenExpired.

        `max_age` (seconds) replaces the kind's default lifetime where a setting configures it.
        """
        serializer, spec = self._serializer(kind)
        try:
            if isinstance(serializer, URLSafeTimedSerializer):
                payload = serializer.loads(token, max_age=max_age or spec.max_age)
            else:
                payload = serializer.loads(token)
        except SignatureExpired:
            raise TokenExpired(kind) from None
        except BadData:
            raise TokenInvalid(kind) from None
        if not isinstance(payload, dict):
            raise TokenInvalid(kind)
        return payload
