"""JSON API v1: bearer-token authentication, permissions, JSON errors, one module per resource."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Blueprint, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import BaseConverter

from sender import work
from sender.services.accounts import permissions, users
from sender.services.errors import Conflict, Forbidden, NotFound, QueueUnavailable, ValidationFailed
from sender.web.api.schemas.base import Input, json_object
from sender.web.bounds import MAX_ID, digits_up_to
from sender.web.session import discard, runtime

bp = Blueprint("api", __name__, url_prefix="/api/v1")

PUBLIC_ENDPOINTS = frozenset({"api.openapi"})
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

F = TypeVar("F", bound=Callable[..., Any])
M = TypeVar("M", bound=Input)


KEY_PATTERN = r"[A-Za-z0-9_-]{1,64}"


class IdConverter(BaseConverter):
    """A record id in a path: 1 to 2^31-1, so a larger number is a 404, not a database error."""

    regex = digits_up_to(MAX_ID)
    weight = 50

    def to_python(self, value: str) -> int:
        """The id as an int."""
        return int(value)

    def to_url(self, value: Any) -> str:
        """The id as text."""
        return str(int(value))


class TokenConverter(BaseConverter):
    """A slug or a public id in a path: URL-safe characters only, so NUL or odd text is a 404."""

    regex = KEY_PATTERN


# Converters must exist before the blueprint's rules are added to the app's url_map.
bp.record_once(lambda state: state.app.url_map.converters.update(id=IdConverter, key=TokenConverter))


def requires(action: str) -> Callable[[F], F]:
    """Mark a view with the action of the permission table it performs (reads need no mark)."""

    def mark(view: F) -> F:
        view.permission = action  # type: ignore[attr-defined]
        return view

    return mark


def permission_of(endpoint: str | None, method: str) -> str | None:
    """The action a request performs: the view's mark, 'read' for reads, None (refused) otherwise."""
    view = current_app.view_functions.get(endpoint or "")
    action: str | None = getattr(view, "permission", None)
    if action is None and method in READ_METHODS:
        return "read"
    return action


def error(status: int, code: str, message: str, **extra: Any) -> ResponseReturnValue:
    """A JSON error body with a stable code and a human message."""
    body = {"error": code, "message": message, **extra}
    return jsonify(body), status


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


@bp.before_request
def _authenticate() -> ResponseReturnValue | None:
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value:
        return error(401, "unauthorized", "send Authorization: Bearer <token>")
    caller = _caller(value.strip())
    if caller is None:
        return error(401, "unauthorized", "unknown or revoked token, or deactivated user")
    g.actor = f"user:{caller.user_id}"
    action = permission_of(request.endpoint, request.method)
    if action is None or not permissions.allowed(caller.role, action):
        return error(403, "forbidden", f"role {caller.role!r} may not do this ({action or 'unknown action'})")
    return None


def json_body() -> dict[str, Any]:
    """The request's JSON object, or a 422 naming what is wrong with it."""
    return json_object(request.get_data(cache=True), request.is_json)


def parse_body(model: type[M]) -> M:
    """The request's JSON body validated by an input model, or a 422 naming each bad field."""
    return model.parse(json_body())


def parse_query(model: type[M]) -> M:
    """The query string validated by an input model, or a 422 naming each bad parameter."""
    return model.parse(request.args.to_dict())


@bp.errorhandler(ValidationFailed)
def _validation(exc: ValidationFailed) -> ResponseReturnValue:
    return error(422, "validation_failed", exc.message, fields=exc.errors)


@bp.errorhandler(NotFound)
def _not_found(exc: NotFound) -> ResponseReturnValue:
    return error(404, "not_found", exc.message)


@bp.errorhandler(Forbidden)
def _forbidden(exc: Forbidden) -> ResponseReturnValue:
    return error(403, "forbidden", exc.message)


@bp.errorhandler(Conflict)
def _conflict(exc: Conflict) -> ResponseReturnValue:
    return error(409, "conflict", exc.message)


@bp.errorhandler(IntegrityError)
def _integrity(_exc: IntegrityError) -> ResponseReturnValue:
    # A concurrent request stored the same unique value first (e.g. 20 parallel creations of one email).
    # The constraint's details name personal data: they are neither shown nor logged.
    discard()
    return error(
        409, "conflict", "the record clashes with one stored meanwhile (duplicate); nothing was changed"
    )


@bp.errorhandler(QueueUnavailable)
def _queue_unavailable(exc: QueueUnavailable) -> ResponseReturnValue:
    return error(503, "queue_unavailable", exc.message)


@bp.errorhandler(HTTPException)
def _http(exc: HTTPException) -> ResponseReturnValue:
    return error(exc.code or 500, (exc.name or "error").lower().replace(" ", "_"), exc.description or "")


def _register_resources() -> None:
    # Imported for their route registrations on `bp`.
    from sender.web.api import (  # noqa: F401
        campaigns,
        consents,
        contacts,
        imports,
        lists,
        openapi,
        purposes,
        requalifications,
        requests,
        sms,
    )


_register_resources()
