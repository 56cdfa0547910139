"""Staff pages (server-rendered, signed in): the `admin` blueprint under /admin.

This branch carries only the import pages and the shared foundation they plug into (blueprint, auth,
CSRF and headers, forms, base layout), copied unchanged from the staff-pages branch, whose full version of
this module (sign-in, setup, dashboard, translations and the other pages) supersedes this one: there,
"imports" joins `PAGES`.
"""

from __future__ import annotations

import importlib

from flask import Flask
from flask_babel import Babel, get_locale

from sender.web.admin import auth, security
from sender.web.admin.blueprint import bp, root

PAGES = ("imports",)


def register(app: Flask) -> None:
    """Attach the staff pages, CSRF, translations and security headers to the app."""
    for name in PAGES:
        importlib.import_module(f"sender.web.admin.{name}")
    auth.init_app(app)
    security.init_app(app)
    Babel(app)
    app.jinja_env.globals.setdefault("current_locale", lambda: str(get_locale() or "en"))
    app.register_blueprint(root)
    app.register_blueprint(bp)
