"""Who is signed in, and what each role may do: Flask-Login plus one permission matrix."""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar, cast

from flask import Flask, abort, flash, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from sender.models import User
from sender.services.accounts import permissions
from sender.web.session import get_session, runtime

F = TypeVar("F", bound=Callable[..., Any])

# Each action a page offers, and the entry of the one permission table (services/accounts/permissions.py)
# that says who may do it (README: permission matrix).
PAGE_ACTIONS: dict[str, str] = {
    "view": "read",
    "contacts.edit": "contacts.manage",
    "contacts.restrict": "contacts.restrict",
    "contacts.erase": "contacts.erase",
    "contacts.see_addresses": "contacts.see_addresses",
    "exports.addresses": "exports.addresses",
    "imports": "imports.manage",
    "lists.edit": "lists.manage",
    "campaigns.edit": "campaigns.manage",
    "campaigns.send": "campaigns.send",
    "campaigns.approve": "campaigns.approve",
    "sequences.edit": "sequences.manage",
    "sequences.activate": "sequences.activate",
    "purposes.edit": "purposes.manage",
    "organisation.edit": "organisation.manage",
    "audit.read": "audit.read",
    "breaches.read": "breaches.read",
    "breaches.edit": "breaches.manage",
    "proofs.read": "proofs.read",
    "rights.read": "requests.read",
    "records.read": "records.read",
    "records.edit": "records.manage",
    "users.manage": "users.manage",
    "tokens.manage": "tokens.manage",
    "webhooks.manage": "webhooks.manage",
}
# The roles allowed each page action, read from the one table.
PERMISSIONS: dict[str, frozenset[str]] = {
    page: permissions.PERMISSIONS[action] for page, action in PAGE_ACTIONS.items()
}

login_manager = LoginManager()
login_manager.login_view = "admin.signin"
login_manager.session_protection = "basic"


# Session keys: when the user signed in and when they last did something (epoch seconds).
SIGNED_IN_AT, SEEN_AT = "signed_in_at", "seen_at"
# Polled by pages' scripts every few seconds: nobody needs to be at the keyboard for them.
POLLED_ENDPOINTS = frozenset({"admin.campaign_progress", "admin.import_progress"})
_SESSION_ID = re.compile(r"([0-9]{1,18})\.([0-9]{1,18})")


class StaffUser(UserMixin):
    """The signed-in user as Flask-Login sees it (a detached snapshot: id, email, role, session generation)."""

    def __init__(self, user: User) -> None:
        self.user_id, self.email, self.role = user.id, user.email, user.role
        self.active = user.is_active
        self.generation = user.session_generation or 0

    def get_id(self) -> str:
        """Session identifier: the user's primary key and session generation (Flask-Login's alternative id).

        Raising the generation (sign-out, deactivation, a new password) makes every cookie naming the old
        one fail to load: a copied cookie dies with the session it came from.
        """
        return f"{self.user_id}.{self.generation}"

    @property
    def is_active(self) -> bool:
        """Disabled users are signed out on their next request."""
        return self.active

    def can(self, permission: str) -> bool:
        """True when this user's role allows the action."""
        return self.role in PERMISSIONS[permission]


@login_manager.user_loader
def _load(session_id: str) -> StaffUser | None:
    match = _SESSION_ID.fullmatch(session_id)
    user = get_session().get(User, int(match.group(1))) if match else None
    if match is None or user is None or not user.is_active:
        return None
    if user.session_generation != int(match.group(2)):
        return None  # ended by sign-out, deactivation or a new password
    return StaffUser(user)


def begin_session(user: User) -> None:
    """A fresh session (no fixation) for a user who just proved who they are, its clocks started."""
    session.clear()
    login_user(StaffUser(user))
    session[SIGNED_IN_AT] = session[SEEN_AT] = int(time.time())


def end_session() -> None:
    """Forget the signed-in user in this browser."""
    logout_user()
    session.clear()


def _within_lifetime() -> bool:
    """False past the idle timeout or the absolute lifetime; otherwise the idle clock starts again."""
    settings = runtime().settings
    now = int(time.time())
    signed_in, seen = session.get(SIGNED_IN_AT), session.get(SEEN_AT)
    if not isinstance(signed_in, int) or not isinstance(seen, int):
        return False
    if now - signed_in > settings.staff_session_max_hours * 3600:
        return False
    if now - seen > settings.staff_session_idle_minutes * 60:
        return False
    if request.endpoint not in POLLED_ENDPOINTS:
        session[SEEN_AT] = now
    return True


def user() -> StaffUser:
    """The signed-in user (views run only after the sign-in check)."""
    return cast(StaffUser, current_user._get_current_object())


def actor() -> str:
    """How the audit trail names the signed-in user."""
    return f"user:{user().user_id}"


def can(permission: str) -> bool:
    """True when someone is signed in and their role allows the action (templates use it too)."""
    return bool(current_user.is_authenticated) and user().can(permission)


def requires(permission: str) -> Callable[[F], F]:
    """Refuse the view with 403 unless the signed-in user's role allows `permission`."""
    if permission not in PERMISSIONS:
        raise KeyError(permission)

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not can(permission):
                abort(403)
            return view(*args, **kwargs)

        return cast(F, wrapped)

    return decorate


# Views reachable without a session: sign-in, first-run setup and the stylesheet / scripts.
PUBLIC_ENDPOINTS = frozenset({"admin.signin", "admin.setup", "admin.static"})


def require_sign_in() -> ResponseReturnValue | None:
    """Send a signed-out visitor of a staff page, or one whose session is over, to the sign-in form.

    A hook of the `admin` blueprint; a session is over once idle for STAFF_SESSION_IDLE_MINUTES, or
    STAFF_SESSION_MAX_HOURS after its sign-in, whatever was done since.
    """
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if current_user.is_authenticated:
        if _within_lifetime():
            return None
        end_session()
        flash(_("Your session has ended. Sign in again."), "error")
    return redirect(url_for("admin.signin", next=request.full_path.rstrip("?")))


def init_app(app: Flask) -> None:
    """Bind Flask-Login and expose `can` and the user to templates."""
    login_manager.init_app(app)
    # The session cookie's signature itself expires with the absolute lifetime.
    settings = app.extensions["sender"].settings
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=settings.staff_session_max_hours)

    def has_endpoint(name: str) -> bool:
        # Navigation links only to pages that exist (a feature page may land later).
        return name in app.view_functions

    app.jinja_env.globals.update(can=can, has_endpoint=has_endpoint)
