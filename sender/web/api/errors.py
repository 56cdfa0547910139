"""The API's errors: a JSON body with a stable code and a human message, for every failure of a call."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from sender.services.errors import Conflict, Forbidden, NotFound, QueueUnavailable, ValidationFailed
from sender.web.session import discard


def error(status: int, code: str, message: str, **extra: Any) -> ResponseReturnValue:
    """A JSON error body with a stable code and a human message."""
    body = {"error": code, "message": message, **extra}
    return jsonify(body), status


def _validation(exc: ValidationFailed) -> ResponseReturnValue:
    return error(422, "validation_failed", exc.message, fields=exc.errors)


def _not_found(exc: NotFound) -> ResponseReturnValue:
    return error(404, "not_found", exc.message)


def _forbidden(exc: Forbidden) -> ResponseReturnValue:
    return error(403, "forbidden", exc.message)


def _conflict(exc: Conflict) -> ResponseReturnValue:
    return error(409, "conflict", exc.message)


def _integrity(_exc: IntegrityError) -> ResponseReturnValue:
    # A concurrent request stored the same unique value first (e.g. 20 parallel creations of one email).
    # The constraint's details name personal data: they are neither shown nor logged.
    discard()
    return error(
        409, "conflict", "the record clashes with one stored meanwhile (duplicate); nothing was changed"
    )


def _queue_unavailable(exc: QueueUnavailable) -> ResponseReturnValue:
    return error(503, "queue_unavailable", exc.message)


def _http(exc: HTTPException) -> ResponseReturnValue:
    return error(exc.code or 500, (exc.name or "error").lower().replace(" ", "_"), exc.description or "")


def register_error_handlers(bp: Blueprint) -> None:
    """Answer the services' errors, a clash of unique values and HTTP errors as JSON on the blueprint."""
    bp.register_error_handler(ValidationFailed, _validation)
    bp.register_error_handler(NotFound, _not_found)
    bp.register_error_handler(Forbidden, _forbidden)
    bp.register_error_handler(Conflict, _conflict)
    bp.register_error_handler(IntegrityError, _integrity)
    bp.register_error_handler(QueueUnavailable, _queue_unavailable)
    bp.register_error_handler(HTTPException, _http)
