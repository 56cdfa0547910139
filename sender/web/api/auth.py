"""Bearer-token authentication of API calls, and the permission each route of the table declares."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from flask import g, request
from flask.typing import ResponseReturnValue

from sender import work
from sender.services.accounts import permissions, users
from sender.web.api.errors import error
from sender.web.api.routing import Route
from sender.web.session import runtime


@dataclass(frozen=True)
class Caller:
    """Who calls, as far as the checks and the audit trail need it."""

    user_id: int
    role: str


def _caller(token: str) -> Caller | None:
    """The token's active user, or None; the token's use is recorded in a unit of work of its own.

    `last_used_at` tells which tokens are still in use, so it is kept whatever the call answers: a 403
    from this check answers before any view, where the request's unit commits nothing (not even with
    keep_on_error), and a view's 4xx rolls its unit back. Committed at once, it also never holds the
    token's row for a whole request (parallel calls with one token would queue behind each other).
    """
    with work.unit(runtime().Session, "api.token_use") as session:
        user = users.authenticate_token(session, token)
        return None if user is None else Caller(user.id, user.role)


def token_check(routes: Iterable[Route], blueprint: str) -> Callable[[], ResponseReturnValue | None]:
    """The blueprint's before-request check: a known token, whose role may do what the route declares."""
    by_endpoint = {f"{blueprint}.{route.endpoint}": route for route in routes}

    def check() -> ResponseReturnValue | None:
        route = by_endpoint.get(request.endpoint or "")
        if route is not None and route.public:
            return None
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value:
            return error(401, "unauthorized", "send Authorization: Bearer <token>")
        caller = _caller(value.strip())
        if caller is None:
            return error(401, "unauthorized", "unknown or revoked token, or deactivated user")
        g.actor = f"user:{caller.user_id}"
        action = route.permission if route is not None else None
        if action is None or not permissions.allowed(caller.role, action):
            return error(
                403, "forbidden", f"role {caller.role!r} may not do this ({action or 'unknown action'})"
            )
        return None

    return check
