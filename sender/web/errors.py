"""App-wide answers for 404, 405, 500 and 503: JSON under the API prefix, a small HTML page elsewhere.

Unknown paths and methods fail in routing, before any blueprint is chosen, and an unexpected exception
may come from any view: so these handlers belong to the app, not to one blueprint. An unreachable
database or Redis is an outage, not a bug: it answers 503 with Retry-After, so that a client (a mail
relay's one-click POST) tries again later.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, g, jsonify, render_template, request
from flask_babel import get_locale, gettext, refresh
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import (
    HTTPException,
    InternalServerError,
    MethodNotAllowed,
    NotFound,
    ServiceUnavailable,
)

from sender.i18n import LOCALES, N_
from sender.services import errors
from sender.web.session import runtime

API_PREFIX = "/api/"
log = logging.getLogger(__name__)
# What an unreachable database or Redis raises (a refused connection, a dropped one, a full pool, a
# locked or missing SQLite file); any other database or Redis error is a bug and stays a 500.
OUTAGES: tuple[type[Exception], ...] = (
    OperationalError,
    InterfaceError,
    PoolTimeout,
    RedisConnectionError,
    RedisTimeoutError,
)
# How long a client should wait before trying again during an outage.
RETRY_AFTER_SECONDS = 30
OUTAGE_TITLE = N_("Service temporarily unavailable")
OUTAGE_TEXT = N_("This request cannot be handled right now. Please try again in a few minutes.")

# Status -> (JSON code, page title, page text); the texts name nothing about the request.
PAGES = {
    404: ("not_found", N_("Page not found"), N_("This address matches no page.")),
    405: ("method_not_allowed", N_("Method not allowed"), N_("This page does not accept this method.")),
    500: (
        "internal_server_error",
        N_("Internal error"),
        N_("An unexpected error occurred; please try again later."),
    ),
    503: (
        "queue_unavailable",
        N_("Service temporarily unavailable"),
        N_("Your request is recorded, but its processing is waiting; please try again later."),
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
        lang = _page_locale()
        page = render_template(
            "errors/error.html", code=code, title=gettext(title), text=gettext(text), lang=lang
        )
        response = Response(page)
    response.status_code = code
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        response.headers["Allow"] = ", ".join(sorted(exc.valid_methods))
    return response


def _page_locale() -> str:
    """The page's language by the usual rule; the browser's when that rule cannot be read (a broken session)."""
    try:
        return str(get_locale() or runtime().settings.default_locale)
    except Exception:  # the error being answered may have broken the session the rule reads
        log.warning("error page: the usual page language could not be read; using the browser's")
        g.page_locale = request.accept_languages.best_match(LOCALES) or runtime().settings.default_locale
        refresh()
        return str(g.page_locale)


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


def _outage(exc: Exception) -> Response:
    # The exception text may name a host or a user: log its type only.
    log.warning("answering 503: database or Redis unreachable (%s)", type(exc).__name__)
    if "page_locale" not in g:
        # The usual choice may read the organisation's settings from the database that is down.
        g.page_locale = request.accept_languages.best_match(LOCALES) or runtime().settings.default_locale
        refresh()
    title, text = gettext(OUTAGE_TITLE), gettext(OUTAGE_TEXT)
    if wants_json():
        response = jsonify({"error": "service_unavailable", "message": text})
    else:
        page = render_template("errors/error.html", code=503, title=title, text=text, lang=g.page_locale)
        response = Response(page)
    response.status_code = 503
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _internal(exc: InternalServerError) -> Response:
    # Flask has already logged the original exception (scrubbed by the logging setup). An outage met
    # outside the view (Redis lost while the rate limiter writes its headers) is still an outage.
    if isinstance(exc.original_exception, OUTAGES):
        return _outage(exc.original_exception)
    return _answer(exc)


def register_error_handlers(app: Flask) -> None:
    """Answer 404 (unknown address or record), 405, 500 and 503 (queue, database or Redis down) for the app."""
    app.register_error_handler(404, _not_found)
    for outage in OUTAGES:
        app.register_error_handler(outage, _outage)
    app.register_error_handler(errors.NotFound, _missing_record)
    app.register_error_handler(errors.QueueUnavailable, _queue_unavailable)
    app.register_error_handler(405, _method_not_allowed)
    app.register_error_handler(500, _internal)
