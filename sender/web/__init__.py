"""HTTP layer: thin blueprints that parse, call a service and present."""

from __future__ import annotations

from flask import Flask

from sender.web import session as web_session
from sender.web.errors import register_error_handlers


def register(app: Flask) -> None:
    """Attach every blueprint, the app-wide error pages and the per-request database session."""
    from sender.web.api import bp as api_bp
    from sender.web.health import bp as health_bp
    from sender.web.public.pages import bp as public_bp
    from sender.web.public.requalify import bp as requalify_bp

    web_session.init_app(app)
    register_error_handlers(app)
    app.register_blueprint(api_bp)
    app.register_blueprint(public_bp)
    app.register_blueprint(requalify_bp)
    app.register_blueprint(health_bp)
