"""JSON API v1 under /api/v1: bearer tokens, the role's permission per route, JSON errors, OpenAPI.

Every route is declared once, in the table of sender.web.api.routes (rule, view, permission and what the
OpenAPI document says of it); `register` adds the table to the app. A resource module holds views and
the JSON shapes they answer with, and registers nothing itself. Views never commit: the request's unit
of work does (sender.web.session).
"""

from __future__ import annotations

from flask import Blueprint, Flask

from sender.web.api.auth import token_check
from sender.web.api.errors import register_error_handlers
from sender.web.api.routes import ROUTES
from sender.web.api.routing import CONVERTERS, PREFIX, add_routes

NAME = "api"


def register(app: Flask) -> None:
    """Attach API v1 to the app: the routes of the table, the token check and the JSON errors."""
    # The converters must be known before the blueprint's rules are added to the app's url_map.
    app.url_map.converters.update(CONVERTERS)
    bp = Blueprint(NAME, __name__, url_prefix=PREFIX)
    add_routes(bp, ROUTES)
    bp.before_request(token_check(ROUTES, NAME))
    register_error_handlers(bp)
    app.register_blueprint(bp)
