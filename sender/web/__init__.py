"""HTTP layer: thin blueprints that parse, call a service and present."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from sender.web import i18n, limits
from sender.web import session as web_session
from sender.web.errors import register_error_handlers


def register(app: Flask) -> None:
    """Attach every blueprint, the app-wide error pages, the per-request session, languages and rate limits."""
    from sender.web import admin, api
    from sender.web.health import bp as health_bp
    from sender.web.media import bp as media_bp
    from sender.web.metrics import bp as metrics_bp
    from sender.web.public import bp as public_bp
    from sender.web.public.requalify import bp as requalify_bp
    from sender.web.webhooks.providers import bp as provider_webhooks_bp
    from sender.web.webhooks.twilio import bp as twilio_bp

    runtime = app.extensions["sender"]
    if runtime.settings.proxy_hops:
        # Behind proxies, the client's address (rate limits) and scheme come from their X-Forwarded-* headers.
        hops = runtime.settings.proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    web_session.init_app(app)
    register_error_handlers(app)
    i18n.init_app(app)
    api.register(app)
    app.register_blueprint(public_bp)
    app.register_blueprint(requalify_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(metrics_bp)
    app.register_blueprint(media_bp)
    app.register_blueprint(twilio_bp)
    app.register_blueprint(provider_webhooks_bp)
    admin.register(app)
    limits.init_app(app, runtime, [public_bp, requalify_bp])
