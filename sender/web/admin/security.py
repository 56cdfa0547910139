"""CSRF on every staff form (Flask-WTF) and the security headers of staff pages."""

from __future__ import annotations

from flask import Flask, Response, current_app, request
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()

# No inline script or style anywhere in staff pages; nothing may frame them (clickjacking).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def check_csrf() -> None:
    """Refuse a staff POST without a valid CSRF token (a hook of the `admin` blueprint)."""
    # The JSON API (bearer tokens) and the public one-click pages (RFC 8058) carry no session, so CSRF is
    # enforced here, for the staff blueprint only, instead of app-wide.
    if request.method not in ("GET", "HEAD", "OPTIONS") and not current_app.config.get("WTF_CSRF_DISABLED"):
        csrf.protect()


def add_headers(response: Response) -> Response:
    """The security headers of every staff answer (a hook of both staff blueprints)."""
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.endpoint == "admin.static":
        # Stylesheet and scripts are public and may be cached.
        response.headers["Cache-Control"] = "public, max-age=3600"
    return response


def init_app(app: Flask) -> None:
    """Enable Flask-WTF's CSRF tokens (checked by the staff blueprint) and the headers."""
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    csrf.init_app(app)
