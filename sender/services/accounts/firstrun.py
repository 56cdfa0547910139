"""First run: whether any staff user exists yet, and the one-time code that opens setup from elsewhere."""

from __future__ import annotations

import hashlib
import hmac

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sender.config import Settings
from sender.enums import Role
from sender.models import FirstRun, User
from sender.services.accounts import users
from sender.services.errors import ServiceError


class SetupDone(ServiceError):
    """The first admin exists already (perhaps created a moment ago by a concurrent setup)."""

    def __init__(self) -> None:
        super().__init__("the first admin exists already: sign in")


def needs_setup(session: Session) -> bool:
    """True while no staff user exists."""
    return not session.scalar(select(exists().where(User.id.is_not(None))))


def setup_code(settings: Settings) -> str:
    """The setup code: derived from the signing key (same in every process), void once a user exists."""
    digest = hmac.new(settings.secret_keys[-1].encode(), b"first-run-setup", hashlib.sha256).hexdigest()
    return f"{digest[:4]}-{digest[4:8]}-{digest[8:12]}"


def code_matches(settings: Settings, typed: str) -> bool:
    """Constant-time comparison of a typed code (spaces and case forgiven)."""
    return hmac.compare_digest(typed.strip().lower(), setup_code(settings))


def create_first_admin(session: Session, email: str, password: str) -> User:
    """Create the first admin; SetupDone when another setup, however concurrent, created one first.

    The single first_run row decides: each setup inserts it, the database lets one insert win and makes the
    others wait for it, then fail. A check of "no user yet" alone lets every concurrent setup through.
    """
    try:
        with session.begin_nested():
            session.add(FirstRun(id=1))
    except IntegrityError:
        raise SetupDone() from None
    return users.create_user(session, email, Role.ADMIN, password, actor="setup")
