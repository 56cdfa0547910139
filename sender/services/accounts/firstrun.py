"""First run: whether any staff user exists yet, and the one-time code that opens setup from elsewhere."""

from __future__ import annotations

import hashlib
import hmac

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sender.config import Settings
from sender.enums import Role
from sender.models import SetupLock, User
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


def _take_turn(session: Session) -> None:
    """Lock the setup row until this transaction ends: a concurrent setup waits here for its turn."""
    if session.get(SetupLock, 1, with_for_update=True) is not None:
        return
    try:  # the row is made by the migration; a database emptied by hand gets it back here
        with session.begin_nested():
            session.add(SetupLock(id=1))
    except IntegrityError:
        session.get(SetupLock, 1, with_for_update=True, populate_existing=True)


def create_first_admin(session: Session, email: str, password: str) -> User:
    """Create the first admin; SetupDone when another setup, however concurrent, created one first.

    A check of "no user yet" alone lets every concurrent setup through (each sees the others' admins only
    once committed); taking turns on the setup row makes the check and the creation one step.
    """
    _take_turn(session)
    if not needs_setup(session):
        raise SetupDone()
    return users.create_user(session, email, Role.ADMIN, password, actor="setup")
