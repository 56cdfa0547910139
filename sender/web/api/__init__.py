"""JSON API v1: bearer-token authentication, JSON errors, one module per resource."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, jsonify, make_response, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from sender.services.accounts import users
from sender.services.errors import Conflict, NotFound, ValidationFailed
from sender.web.session import get_session

bp = Blueprint("api", __name__, url_prefix="/api/v1")

# Roles allowed to change data through the API; the DPO role reads only.
WRITE_ROLES = frozenset({"admin", "marketer"})
PUBLIC_ENDPOINTS = frozenset({"api.openapi"})


def error(status: int, code: str, message: str, **extra: Any) -> ResponseReturnValue:
    """A JSON error body with a stable code and a human message."""
    body = {"error": code, "message": message, **extra}
    return jsonify(body), status


@bp.before_request
def _authenticate() -> ResponseReturnValue | None:
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value:
        return error(401, "unauthorized", "send Authorization: Bearer <token>")
    session = get_session()
    user = users.authenticate_token(session, value.strip())
    if user is None:
        return error(401, "unauthorized", "unknown or revoked token")
    session.commit()  # keeps last_used_at
    g.api_user = user
    g.actor = f"user:{user.id}"
    if request.method not in ("GET", "HEAD", "OPTIONS") and user.role not in WRITE_ROLES:
        return error(403, "forbidden", f"role {user.role!r} may not change data")
    return None


def json_body() -> dict[str, Any]:
    """The request's JSON object, or a 422 naming what is wrong with it."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValidationFailed({"body": "must be a JSON object (Content-Type: application/json)"})
    return data


@bp.errorhandler(ValidationFailed)
def _validation(exc: ValidationFailed) -> ResponseReturnValue:
    return error(422, "validation_failed", exc.message, fields=exc.errors)


@bp.errorhandler(NotFound)
def _not_found(exc: NotFound) -> ResponseReturnValue:
    return error(404, "not_found", exc.message)


@bp.errorhandler(Conflict)
def _conflict(exc: Conflict) -> ResponseReturnValue:
    return error(409, "conflict", exc.message)


@bp.errorhandler(HTTPException)
def _http(exc: HTTPException) -> ResponseReturnValue:
    return error(exc.code or 500, (exc.name or "error").lower().replace(" ", "_"), exc.description or "")


@bp.app_errorhandler(404)
@bp.app_errorhandler(405)
def _api_routing_error(exc: HTTPException) -> ResponseReturnValue:
    # Unknown paths and methods fail in routing, before any blueprint is chosen, so the handlers above
    # never see them: answer in JSON under the API prefix and leave every other path to Flask's default.
    if not (request.path == bp.url_prefix or request.path.startswith(f"{bp.url_prefix}/")):
        return exc
    response = make_response(_http(exc))
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response


def _register_resources() -> None:
    # Imported for their route registrations on `bp`.
    from sender.web.api import campaigns, consents, contacts, lists, openapi, purposes, sms  # noqa: F401


_register_resources()
