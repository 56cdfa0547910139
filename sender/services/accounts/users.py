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
from sender.services.accounts import access
from sender.services.errors import Conflict, Forbidden, NotFound, ValidationFailed
from sender.services.records import audit

TOKEN_PREFIX = "snd_"  # noqa: S105 (a public marker, not a secret)
MIN_PASSWORD = 12
# Checked against when no account matches, so every path costs one password hash (same scrypt parameters).
UNUSABLE_HASH = "scrypt:32768:8:1$7S4l5mHZgVdLxN1m$" + "0" * 128


@dataclass(frozen=True)
class IssuedToken:
    """A token as issued: the clear value exists only here, once."""

    record: ApiToken
    value: str


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _password_error(password: str) -> str | None:
    return N_("must be at least %(n)d characters", n=MIN_PASSWORD) if len(password) < MIN_PASSWORD else None


def create_user(session: Session, email: str, role: str, password: str, actor: str = "cli") -> User:
    """Create a staff user with a hashed password."""
    errors: dict[str, str] = {}
    try:
        email = normalize_email(email)
    except AddressError as exc:
        errors["email"] = exc.message
    if role not in ROLES:
        errors["role"] = N_("must be one of %(choices)s", choices=", ".join(ROLES))
    if (reason := _password_error(password)) is not None:
        errors["password"] = reason
    if errors:
        raise ValidationFailed(errors)
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(N_("a user with this email already exists"))
    user = User(email=email, role=role, password_hash=generate_password_hash(password))
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.create", "user", user.id, {"role": role})
    return user


def account_key(raw: str) -> str:
    """The one spelling of an account's email, for lookups and throttle keys alike.

    Its normalised form (IDNA, width and case folded): a full-width letter or an ideographic full stop
    names the same account everywhere. Text that is no address keeps its folded self (it names no account).
    """
    try:
        return normalize_email(raw)
    except AddressError:
        return raw.strip().lower()


def set_password(session: Session, user: User, password: str, actor: str = "cli") -> None:
    """Give the user a new password; every staff session they had open ends (a stolen cookie dies with it)."""
    if (reason := _password_error(password)) is not None:
        raise ValidationFailed({"password": reason})
    user.password_hash = generate_password_hash(password)
    audit.record(session, actor, "user.password", "user", user.id)
    access.end_sessions(session, user, actor)


def check_password(user: User, password: str) -> bool:
    """True when the password matches the stored hash."""
    return check_password_hash(user.password_hash, password)


def find_user(session: Session, email: str) -> User:
    """The user with this email, or NotFound."""
    user = session.scalar(select(User).where(User.email == account_key(email)))
    if user is None:
        raise NotFound(N_("no such user"))
    return user


def issue_token(session: Session, user: User, name: str = "api", actor: str | None = None) -> IssuedToken:
    """Create an API token for its owner, who asks for it; the clear value is returned once, never stored.

    A token acts for its owner, so nobody may issue one for someone else: an admin holding the DPO's token
    would approve as the DPO, and two-person approval would rest on one person. `actor` None is the owner.
    """
    owner = f"user:{user.id}"
    if actor not in (None, owner):
        raise Forbidden(N_("a token acts for its owner: only that user may issue it"))
    value = TOKEN_PREFIX + secrets.token_urlsafe(32)
    record = ApiToken(user_id=user.id, name=name, token_hash=_digest(value), prefix=value[:12])
    session.add(record)
    session.flush()
    audit.record(session, owner, "token.create", "api_token", record.id, {"user_id": user.id})
    return IssuedToken(record, value)


def verify_credentials(session: Session, email: str, password: str) -> User | None:
    """The active user these credentials belong to, or None, after one password hash whoever asks
    (unknown, deactivated or active): the answer's time names no account."""
    user = session.scalar(select(User).where(User.email == account_key(email)))
    matches = check_password(user if user is not None else User(password_hash=UNUSABLE_HASH), password)
    return user if user is not None and user.is_active and matches else None


def issue_own_token(session: Session, email: str, password: str, name: str = "api") -> IssuedToken:
    """Issue a token to the user who proves, with their password, that they own the account (CLI)."""
    user = verify_credentials(session, email, password)
    if user is None:
        raise Forbidden(N_("wrong email or password, or deactivated user"))
    return issue_token(session, user, name)


def authenticate_token(session: Session, value: str) -> User | None:
    """The active user owning an unrevoked token, or None."""
    if not value.startswith(TOKEN_PREFIX):
        return None
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(value)))
    if token is None or token.revoked_at is not None or not token.user.is_active:
        return None
    token.last_used_at = utcnow()
    return token.user
