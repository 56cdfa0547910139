"""App-wide answers for 404, 405 and 500: JSON under the API prefix, a small HTML page elsewhere.

Unknown paths and methods fail in routing, before any blueprint is chosen, and an unexpected exception
may come from any view: so these handlers belong to the app, not to one blueprint.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import (
    HTTPException,
    InternalServerError,
    MethodNotAllowed,
    NotFound,
    ServiceUnavailable,
)

from sender.services import errors

API_PREFIX = "/api/"
log = logging.getLogger(__name__)

# Status -> (JSON code, page title, page text); the texts name nothing about the request.
PAGES = {
    404: ("not_found", "Page introuvable", "Cette adresse ne correspond à aucune page."),
    405: ("method_not_allowed", "Méthode non permise", "Cette page n'accepte pas cette méthode."),
    500: (
        "internal_server_error",
        "Erreur interne",
        "Une erreur inattendue est survenue ; réessayez plus tard.",
    ),
    503: (
        "queue_unavailable",
        "Service momentanément indisponible",
        "Votre demande est enregistrée, mais son traitement attend ; réessayez plus tard.",
    ),
}


def wants_json() -> bool:
    """Whether the request is for the JSON API, which always answers errors in JSON."""
    return request.path == API_PREFIX.rstrip("/") or request.path.startswith(API_PREFIX)


def _answer(exc: HTTPException) -> Response:
    code = exc.code or 500
    name, title, text = PAGES[code]
    if wants_json():
        # An HTTPException's description is generic text; a 500 never shows what went wrong.
        message = PAGES[500][2] if code == 500 else (exc.description or title)
        response = jsonify({"error": name, "message": message})
    else:
        response = Response(render_template("errors/error.html", code=code, title=title, text=text))
    response.status_code = code
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        response.headers["Allow"] = ", ".join(sorted(exc.valid_methods))
    return response


def _not_found(exc: HTTPException) -> Response:
    return _answer(exc)


def _missing_record(_exc: errors.NotFound) -> Response:
    # A service found no such record: for every page the same 404 as an unknown address (the API's own
    # handler answers first with its JSON message).
    return _answer(NotFound())


def _queue_unavailable(exc: errors.QueueUnavailable) -> Response:
    # The request's work is committed; what it asked of the queue waits (the API answers with its own JSON).
    return _answer(ServiceUnavailable(exc.message))


def _method_not_allowed(exc: HTTPException) -> Response:
    return _answer(exc)


def _internal(exc: InternalServerError) -> Response:
    # Flask has already logged the original exception (scrubbed by the logging setup).
    return _answer(exc)


def register_error_handlers(app: Flask) -> None:
    """Answer 404 (unknown address or record), 405, 500 and 503 (queue down) for the whole app."""
    app.register_error_handler(404, _not_found)
    app.register_error_handler(errors.NotFound, _missing_record)
    app.register_error_handler(errors.QueueUnavailable, _queue_unavailable)
    app.register_error_handler(405, _method_not_allowed)
    app.register_error_handler(500, _internal)
