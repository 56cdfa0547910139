"""Who is signed in, and what each role may do: Flask-Login plus one permission matrix."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Flask, abort, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import LoginManager, UserMixin, current_user

from sender.models import User
from sender.web.session import get_session

F = TypeVar("F", bound=Callable[..., Any])

# Each action a page offers, and the roles allowed to do it (README: permission matrix).
PERMISSIONS: dict[str, frozenset[str]] = {
    "view": frozenset({"admin", "marketer", "dpo"}),
    "contacts.edit": frozenset({"admin", "marketer"}),
    "contacts.restrict": frozenset({"admin", "marketer", "dpo"}),
    "contacts.erase": frozenset({"admin", "dpo"}),
    "contacts.see_addresses": frozenset({"admin", "marketer", "dpo"}),
    "exports.addresses": frozenset({"admin", "marketer"}),
    "imports": frozenset({"admin", "marketer"}),
    "lists.edit": frozenset({"admin", "marketer"}),
    "campaigns.edit": frozenset({"admin", "marketer"}),
    "campaigns.send": frozenset({"admin", "marketer"}),
    "campaigns.approve": frozenset({"admin", "dpo"}),
    "purposes.edit": frozenset({"admin", "dpo"}),
    "organisation.edit": frozenset({"admin"}),
    # The audit trail is the DPO's proof (R73): admins and the DPO read, export and verify it.
    "audit.read": frozenset({"admin", "dpo"}),
    "users.manage": frozenset({"admin"}),
    "tokens.manage": frozenset({"admin"}),
}

login_manager = LoginManager()
login_manager.login_view = "admin.signin"
login_manager.session_protection = "basic"


class StaffUser(UserMixin):
    """The signed-in user as Flask-Login sees it (a detached snapshot: id, email, role)."""

    def __init__(self, user: User) -> None:
        self.user_id, self.email, self.role = user.id, user.email, user.role
        self.active = user.is_active

    def get_id(self) -> str:
        """Session identifier: the user's primary key."""
        return str(self.user_id)

    @property
    def is_active(self) -> bool:
        """Disabled users are signed out on their next request."""
        return self.active

    def can(self, permission: str) -> bool:
        """True when this user's role allows the action."""
        return self.role in PERMISSIONS[permission]


@login_manager.user_loader
def _load(user_id: str) -> StaffUser | None:
    user = get_session().get(User, int(user_id)) if user_id.isdigit() else None
    if user is None or not user.is_active:
        return None
    return StaffUser(user)


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
    """Send a signed-out visitor of a staff page to the sign-in form (a hook of the `admin` blueprint)."""
    if request.endpoint in PUBLIC_ENDPOINTS or current_user.is_authenticated:
        return None
    return redirect(url_for("admin.signin", next=request.full_path.rstrip("?")))


def init_app(app: Flask) -> None:
    """Bind Flask-Login and expose `can` and the user to templates."""
    login_manager.init_app(app)

    def has_endpoint(name: str) -> bool:
        # Navigation links only to pages that exist (a feature page may land later).
        return name in app.view_functions

    app.jinja_env.globals.update(can=can, has_endpoint=has_endpoint)
