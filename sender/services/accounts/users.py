"""Staff users and API tokens (tokens are shown once and stored as SHA-256 digests)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from sender.addresses import AddressError, normalize_email
from sender.db import utcnow
from sender.i18n import N_
from sender.models import ApiToken, User
from sender.models.users import ROLES
from sender.services.errors import Conflict, NotFound, ValidationFailed
from sender.services.records import audit

TOKEN_PREFIX = "snd_"  # noqa: S105 (a public marker, not a secret)
MIN_PASSWORD = 12


@dataclass(frozen=True)
class IssuedToken:
    """A token as issued: the clear value exists only here, once."""

    record: ApiToken
    value: str


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def create_user(session: Session, email: str, role: str, password: str, actor: str = "cli") -> User:
    """Create a staff user with a hashed password."""
    errors: dict[str, str] = {}
    try:
        email = normalize_email(email)
    except AddressError as exc:
        errors["email"] = exc.message
    if role not in ROLES:
        errors["role"] = N_("must be one of %(choices)s", choices=", ".join(ROLES))
    if len(password) < MIN_PASSWORD:
        errors["password"] = N_("must be at least %(n)d characters", n=MIN_PASSWORD)
    if errors:
        raise ValidationFailed(errors)
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(N_("a user with this email already exists"))
    user = User(email=email, role=role, password_hash=generate_password_hash(password))
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.create", "user", user.id, {"role": role})
    return user


def check_password(user: User, password: str) -> bool:
    """True when the password matches the stored hash."""
    return check_password_hash(user.password_hash, password)


def find_user(session: Session, email: str) -> User:
    """The user with this email, or NotFound."""
    try:
        email = normalize_email(email)
    except AddressError:
        raise NotFound("no such user") from None
    user = session.scalar(select(User).where(User.email == email))
    if user is None:
        raise NotFound("no such user")
    return user


def issue_token(session: Session, user: User, name: str = "api", actor: str = "cli") -> IssuedToken:
    """Create an API token for a user; the clear value is returned once and never stored."""
    value = TOKEN_PREFIX + secrets.token_urlsafe(32)
    record = ApiToken(user_id=user.id, name=name, token_hash=_digest(value), prefix=value[:12])
    session.add(record)
    session.flush()
    audit.record(session, actor, "token.create", "api_token", record.id, {"user_id": user.id})
    return IssuedToken(record, value)


def authenticate_token(session: Session, value: str) -> User | None:
    """The active user owning an unrevoked token, or None."""
    if not value.startswith(TOKEN_PREFIX):
        return None
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(value)))
    if token is None or token.revoked_at is not None or not token.user.is_active:
        return None
    token.last_used_at = utcnow()
    return token.user
