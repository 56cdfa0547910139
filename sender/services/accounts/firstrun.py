"""First run: whether any staff user exists yet, and the one-time code that opens setup from elsewhere."""

from __future__ import annotations

import hashlib
import hmac

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from sender.config import Settings
from sender.models import User


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
