"""Password sign-in with throttling: failures counted per account and per client, then a temporary lock."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from sender.db import utcnow
from sender.models import SignInThrottle, User
from sender.services.accounts.users import account_key, verify_credentials
from sender.services.records import audit

WINDOW = timedelta(minutes=15)
LOCK = timedelta(minutes=15)
ACCOUNT_LIMIT = 5  # failures on one account within WINDOW before it is locked
CLIENT_LIMIT = 20  # failures from one client address within WINDOW before it is locked


class SignInLocked(Exception):
    """Too many failures: sign-in is refused until `until` (naive UTC)."""

    def __init__(self, until: datetime) -> None:
        super().__init__("too many failed sign-ins")
        self.until = until


@dataclass(frozen=True)
class Throttle:
    """Keys of one attempt: a keyed hash of the account and of the client address (never stored clear)."""

    account: str
    client: str


def throttle_keys(hash_key: str, email: str, client: str) -> Throttle:
    """Keyed hashes so the throttle table holds no address or IP in clear."""

    def digest(kind: str, value: str) -> str:
        return hmac.new(hash_key.encode(), f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()

    # The lookup's own spelling: a width or IDNA variant of an address counts against the same account.
    return Throttle(digest("account", account_key(email)), digest("client", client))


def _row(session: Session, key: str) -> SignInThrottle | None:
    return session.get(SignInThrottle, key)


def _check_lock(session: Session, keys: Throttle, now: datetime) -> None:
    for key in (keys.account, keys.client):
        row = _row(session, key)
        if row is not None and row.locked_until is not None and row.locked_until > now:
            raise SignInLocked(row.locked_until)


def _fail(session: Session, key: str, limit: int, now: datetime) -> None:
    row = _row(session, key)
    if row is None:
        row = SignInThrottle(key=key, failures=0, window_start=now)
        session.add(row)
    if now - row.window_start > WINDOW:
        row.failures, row.window_start, row.locked_until = 0, now, None
    row.failures += 1
    if row.failures >= limit:
        row.locked_until = now + LOCK


def authenticate(session: Session, keys: Throttle, email: str, password: str) -> User | None:
    """The active user these credentials belong to, or None; raises SignInLocked. The caller commits."""
    now = utcnow()
    _check_lock(session, keys, now)
    user = verify_credentials(session, email, password)
    if user is not None:
        row = _row(session, keys.account)
        if row is not None:
            session.delete(row)
        audit.record(session, f"user:{user.id}", "user.signin", "user", user.id, {})
        return user
    _fail(session, keys.account, ACCOUNT_LIMIT, now)
    _fail(session, keys.client, CLIENT_LIMIT, now)
    session.flush()
    return None
