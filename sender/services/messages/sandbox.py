"""Marketer-authored templates: a Jinja2 sandbox exposing only `contact`, and the checks run when saving."""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

from jinja2 import ChainableUndefined, StrictUndefined, Template, TemplateSyntaxError, meta, nodes
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from sender.models import Contact
from sender.services.errors import ValidationFailed

ALLOWED_NAMES = frozenset({"contact"})
CONTACT_FIELDS = ("first_name", "last_name", "locale", "country", "attributes")
TEMPLATE_NAME = "<template>"
# Where the system footer goes in the HTML part; validation checks that a browser would still show it.
FOOTER_MARKER = '<span data-sender-footer=""></span>'
_MAX_REPEAT = 10_000


@dataclass(frozen=True, slots=True)
class TemplateContact:
    """What a template may read about a person: never the email address or phone number."""

    first_name: str
    last_name: str
    locale: str
    country: str
    attributes: Mapping[str, Any]


def template_contact(contact: Contact) -> TemplateContact:
    """The template view of a contact (missing values are empty strings)."""
    return TemplateContact(
        contact.first_name or "",
        contact.last_name or "",
        contact.locale or "",
        contact.country or "",
        contact.attributes or {},
    )


class _AnyAttributes(dict[str, Any]):
    """Sample attributes for validation: every key exists, since each contact has its own."""

    def __missing__(self, key: str) -> str:
        return ""


SAMPLE_CONTACT = TemplateContact("Camille", "Martin", "fr", "FR", _AnyAttributes())


class _Sandbox(SandboxedEnvironment):
    """The stock sandbox, plus a cap on `*` and `**` so a template cannot exhaust the worker's memory."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        """Refuse repetitions and powers whose result would be huge."""
        if operator == "**" and isinstance(right, int | float) and abs(right) > 100:
            raise SecurityError("exponent too large")
        if operator == "*":
            for seq, count in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(count, int) and count > _MAX_REPEAT:
                    raise SecurityError("repetition too large")
        return super().call_binop(context, operator, left, right)


def _finalize(value: Any) -> Any:
    return "" if value is None else value


def _environment(*, html: bool, strict: bool) -> SandboxedEnvironment:
    env = _Sandbox(
        autoescape=html,
        undefined=StrictUndefined if strict else ChainableUndefined,
        finalize=_finalize,
        keep_trailing_newline=True,
    )
    # Only `contact` is visible: no range(), lipsum(), cycler()... to misuse.
    env.globals.clear()
    # Contact data (imports, sign-up forms) must never become markup.
    env.filters.pop("safe", None)
    return env


# Rendering tolerates a missing attribute (renders empty); validation reports it.
HTML_ENV = _environment(html=True, strict=False)
TEXT_ENV = _environment(html=False, strict=False)
_STRICT_HTML_ENV = _environment(html=True, strict=True)
_STRICT_TEXT_ENV = _environment(html=False, strict=True)


def compile_template(source: str, *, html: bool) -> Template:
    """Compile a validated template for rendering."""
    return (HTML_ENV if html else TEXT_ENV).from_string(source)


def _template_line(exc: BaseException) -> int:
    """Line in the template where a render error happened (Jinja rewrites tracebacks to point there)."""
    lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if f.filename == TEMPLATE_NAME]
    return lines[-1] if lines and lines[-1] else 1


def _unknown_names(ast: nodes.Template, extra: Mapping[str, str]) -> str | None:
    allowed = ALLOWED_NAMES | set(extra)
    unknown = meta.find_undeclared_variables(ast) - allowed
    if not unknown:
        return None
    first = min(
        (n for n in ast.find_all(nodes.Name) if n.name in unknown and n.ctx == "load"),
        key=lambda n: n.lineno,
    )
    if not extra:
        return f"line {first.lineno}: unknown name {first.name!r}; only 'contact' is available"
    names = ", ".join(repr(name) for name in sorted(allowed))
    return f"line {first.lineno}: unknown name {first.name!r}; available: {names}"


def _autoescape_switch(ast: nodes.Template) -> str | None:
    for node in ast.find_all((nodes.EvalContextModifier, nodes.ScopedEvalContextModifier)):
        if any(option.key == "autoescape" for option in node.options):
            return f"line {node.lineno}: autoescaping cannot be turned off"
    return None


# Browsers read everything after these as text (or drop it) until the matching end tag; the standard
# library parser only knows <script> and <style>. Mail clients run no scripts, so <noscript> shows.
_RAW_TEXT = frozenset({"title", "textarea", "xmp", "iframe", "noembed", "noframes", "plaintext"})
# Content of an unclosed <template> is parsed but never displayed.
_INERT = "template"


class _MarkerFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found = False
        self.inert = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "span" and ("data-sender-footer", "") in attrs:
            self.found = self.inert == 0
        elif tag in _RAW_TEXT:
            self.set_cdata_mode(tag)
        elif tag == _INERT:
            self.inert += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == _INERT and self.inert:
            self.inert -= 1


def insert_footer(html: str, footer: str) -> str:
    """Put the footer before the last </body>, or at the end when there is none."""
    at = html.lower().rfind("</body")
    if at < 0:
        return html + footer
    return html[:at] + footer + html[at:]


def footer_stays_visible(rendered_html: str) -> bool:
    """False when markup left open (comment, <style>, <script>, a tag...) would swallow the footer."""
    parser = _MarkerFinder()
    parser.feed(insert_footer(rendered_html, FOOTER_MARKER))
    parser.close()
    return parser.found


def _check(field: str, source: str, *, html: bool, extra: Mapping[str, str]) -> str | None:
    """First problem in one template as 'line N: message', or None."""
    env = _STRICT_HTML_ENV if html else _STRICT_TEXT_ENV
    try:
        ast = env.parse(source, name=TEMPLATE_NAME)
        # Analysing names runs the compiler, which also reports unknown filters and tests.
        problem = _unknown_names(ast, extra) or (_autoescape_switch(ast) if html else None)
    except TemplateSyntaxError as exc:
        return f"line {exc.lineno}: {exc.message}"
    if problem:
        return problem
    if field == "subject" and "\n" in source.strip():
        return "line 2: the subject must fit on one line"
    try:
        rendered = env.from_string(source).render(contact=SAMPLE_CONTACT, **extra)
    except TemplateError as exc:
        message = (exc.message or type(exc).__name__).replace(
            f"{TemplateContact.__module__}.TemplateContact object", "contact"
        )
        return f"line {_template_line(exc)}: {message}"
    except Exception as exc:  # e.g. a division by zero or a bad filter argument in the template
        return f"line {_template_line(exc)}: {type(exc).__name__}: {exc}"
    if html and not footer_stays_visible(rendered):
        return (
            "markup left open at the end (comment, <style>, <script>, <title> or a tag) would hide the footer"
        )
    return None


def validate_content(
    subject: str, body_html: str, body_text: str, extra: Mapping[str, str] | None = None
) -> None:
    """Check the three templates of an email; raise ValidationFailed({field: 'line N: message'}).

    `extra` names the variables a campaign kind adds beside `contact` (requalification: its links), with
    sample values.
    """
    errors: dict[str, str] = {}
    for field, source, html in (
        ("subject", subject, False),
        ("body_html", body_html, True),
        ("body_text", body_text, False),
    ):
        problem = _check(field, source or "", html=html, extra=extra or {})
        if problem:
            errors[field] = problem
    if errors:
        raise ValidationFailed(errors)
