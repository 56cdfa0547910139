"""Languages of public pages and system texts: French and English catalogues, and how one is chosen.

The order is fixed (issue 9): the contact's own locale, then the campaign's, then the organisation's
default. Flask-Babel uses the same catalogues for pages; messages are rendered outside any request, so
their Jinja environments load the catalogue directly, one environment per language.
"""

from __future__ import annotations

import functools

from babel.support import NullTranslations, Translations
from jinja2 import Environment, FileSystemLoader, select_autoescape

from sender.paths import resource_dir

LOCALES = ("fr", "en")


class Reason(str):
    """A text in English, as the API and the CLI say it, that keeps its catalogue form and values for pages."""

    msgid: str
    values: dict[str, object]

    def __new__(cls, msgid: str, values: dict[str, object]) -> Reason:
        """The English text, `msgid` formatted with `values`."""
        text = super().__new__(cls, msgid % values)
        text.msgid, text.values = msgid, values
        return text


# Named N_ because pybabel extracts that name by default, like _ and gettext.
def N_(message: str, **values: object) -> str:
    """Mark a text for the catalogue where it is defined, outside any request; it is translated where shown.

    With values, the text is formatted in English now (`%(name)s`), and pages translate it with the same values.
    """
    return Reason(message, values) if values else message


def normalise(value: str | None) -> str | None:
    """The supported language of a locale tag such as 'en-GB' or 'fr_FR', or None."""
    if not value:
        return None
    language = value.replace("_", "-").split("-", 1)[0].strip().lower()
    return language if language in LOCALES else None


def pick_locale(*candidates: str | None, default: str) -> str:
    """The first supported language among the candidates, else the default."""
    for candidate in candidates:
        language = normalise(candidate)
        if language is not None:
            return language
    return normalise(default) or LOCALES[0]


@functools.cache
def translations(locale: str) -> NullTranslations:
    """The compiled catalogue of one language (English is the source language: no catalogue)."""
    return Translations.load(str(resource_dir("translations")), [locale], domain="messages")


@functools.cache
def email_env(locale: str) -> Environment:
    """The trusted environment of system email templates, translated into one language."""
    env = Environment(
        loader=FileSystemLoader(resource_dir("templates")),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(translations(locale), newstyle=True)  # type: ignore[attr-defined]
    return env
