"""Translations of every page (Flask-Babel): French or English, one Babel and one locale rule.

The locale is, in order: one a page sets explicitly (`g.page_locale`: the contact a public page speaks
to); on staff pages, the organisation's default locale (English until one is chosen); on public pages
where nobody is known yet, the browser's Accept-Language, then the recipients' default (the
organisation's choice, else DEFAULT_LOCALE). Catalogs live in the top-level `translations/` folder; the
compiled `.mo` files are committed, and compiled at start when missing.
"""

from __future__ import annotations

from flask import Flask, g, has_request_context, request
from flask_babel import Babel, get_locale

from sender.paths import resource_dir
from sender.services.accounts import organisation
from sender.web import labels
from sender.web.session import get_session, runtime

SUPPORTED = organisation.LOCALES


STAFF_BLUEPRINTS = frozenset({"admin", "root"})


def select_locale() -> str:
    """The explicit page locale; else staff pages the organisation's, public ones the browser's first."""
    if not has_request_context():
        return runtime().settings.default_locale
    explicit = g.get("page_locale")
    if explicit in SUPPORTED:
        return str(explicit)
    if request.blueprint in STAFF_BLUEPRINTS:
        if "org_locale" not in g:
            g.org_locale = organisation.effective(get_session(), runtime().settings).default_locale
        return str(g.org_locale)
    default = organisation.recipient_locale(get_session(), runtime().settings)
    return str(request.accept_languages.best_match(SUPPORTED) or default)


def _compile_missing(folder: str) -> None:
    """Compile a catalog whose .mo is missing (a checkout without build step), offline."""
    from pathlib import Path

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in Path(folder).glob("*/LC_MESSAGES/*.po"):
        mo = po.with_suffix(".mo")
        if mo.exists():
            continue
        with po.open("rb") as source:
            catalog = read_po(source)
        try:
            with mo.open("wb") as target:
                write_mo(target, catalog)
        except OSError:
            # A read-only install keeps whatever was shipped.
            continue


def current_locale() -> str:
    """The locale of this request, for `<html lang>`."""
    return str(get_locale() or "en")


def init_app(app: Flask) -> None:
    """Bind Flask-Babel to the app with the catalogs folder and the locale selector."""
    folder = str(resource_dir("translations"))
    _compile_missing(folder)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", folder)
    Babel(app, locale_selector=select_locale, default_locale=runtime_default(app))
    # Every page's templates (staff, public, requalification answers) can ask for the language.
    app.jinja_env.globals.update(current_locale=current_locale, get_locale=current_locale)
    labels.init_app(app)


def runtime_default(app: Flask) -> str:
    """The organisation's default language before any is stored (DEFAULT_LOCALE)."""
    return str(app.extensions["sender"].settings.default_locale)
