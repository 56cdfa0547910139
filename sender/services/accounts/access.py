"""Ending access: revoking API tokens, ending staff sessions, deactivating users (from the next request)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.db import utcnow
from sender.i18n import N_
from sender.models import ApiToken, User
from sender.services.errors import NotFound
from sender.services.records import audit


def active_tokens(session: Session, user: User) -> list[ApiToken]:
    """A user's unrevoked tokens, oldest first."""
    return list(
        session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .order_by(ApiToken.id)
        )
    )


def revoke_tokens(session: Session, user: User, name: str | None, actor: str) -> int:
    """Revoke the user's tokens with this name (every token when name is None); NotFound when none matched."""
    matching = [t for t in active_tokens(session, user) if name is None or t.name == name]
    if not matching:
        raise NotFound(
            N_("no active token matches") if name is None else N_("no active token named %(name)r", name=name)
        )
    now = utcnow()
    for token in matching:
        token.revoked_at = now
        audit.record(session, actor, "token.revoke", "api_token", token.id, {"user_id": user.id})
    session.flush()
    return len(matching)


def end_sessions(session: Session, user: User, actor: str) -> None:
    """End every staff session of the user, on every browser: the cookies they hold name an older generation."""
    # An UPDATE of the row itself, so two concurrent ends both count and neither is lost.
    user.session_generation = User.session_generation + 1
    session.flush()
    session.refresh(user, ["session_generation"])
    audit.record(session, actor, "user.sessions_end", "user", user.id)


def set_active(session: Session, user: User, active: bool, actor: str) -> None:
    """Deactivate a user (every token and session stops working) or activate them again."""
    if not active and user.is_active:
        # Sessions opened before the deactivation must not come back with a later activation.
        end_sessions(session, user, actor)
    user.is_active = active
    session.flush()
    audit.record(session, actor, "user.activate" if active else "user.deactivate", "user", user.id)
