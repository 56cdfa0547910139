"""Marketer-authored templates: a bounded Jinja2 sandbox exposing only a read-only `contact`, and the save checks.

Every render (save-time sample and each message) runs within the limits of limits.py and raises
RenderLimitExceeded past one; the HTML part is sanitised per message by insert_footer() (sanitise.py).
The save-time check also runs in a child process under hard limits (isolation.py), so that no template
can slow or grow the web process, whatever the render limits miss.
"""

from __future__ import annotations

import hashlib
import threading
import traceback
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from html.parser import HTMLParser
from types import MappingProxyType
from typing import Any

from jinja2 import ChainableUndefined, StrictUndefined, Template, TemplateSyntaxError, Undefined, meta, nodes
from jinja2.exceptions import TemplateError

from sender.i18n import N_, Reason
from sender.models import Contact
from sender.services.errors import ValidationFailed
from sender.services.messages import isolation
from sender.services.messages.bounded import BoundedSandbox, bounded_filter, render_bounded
from sender.services.messages.limits import RenderLimitExceeded
from sender.services.messages.sanitise import ExitLinksMissing, check_exits, insert_footer

__all__ = [
    "SAMPLE_CONTACT",
    "BoundedTemplate",
    "ExitLinksMissing",
    "RenderLimitExceeded",
    "TemplateContact",
    "check_content",
    "check_exits",
    "compile_template",
    "insert_footer",
    "template_contact",
    "validate_content",
]

ALLOWED_NAMES = frozenset({"contact"})
CONTACT_FIELDS = ("first_name", "last_name", "locale", "country", "attributes")
TEMPLATE_NAME = "<template>"
# Where the system footer goes in the HTML part; validation checks that a browser would still show it.
FOOTER_MARKER = '<span data-sender-footer=""></span>'


@dataclass(frozen=True, slots=True)
class TemplateContact:
    """What a template may read about a person: never the email address or phone number."""

    first_name: str
    last_name: str
    locale: str
    country: str
    attributes: Mapping[str, Any]


_CONTACT_FIELDS = frozenset(field.name for field in fields(TemplateContact))


def frozen(value: Any) -> Any:
    """A read-only copy of JSON data: objects become mapping proxies, arrays tuples."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: frozen(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(frozen(v) for v in value)
    return value


def template_contact(contact: Contact) -> TemplateContact:
    """The template view of a contact: read-only copies, so a template cannot change the person's data."""
    return TemplateContact(
        contact.first_name or "",
        contact.last_name or "",
        contact.locale or "",
        contact.country or "",
        frozen(contact.attributes or {}),
    )


class _AnyAttributes(Mapping[str, Any]):
    """Sample attributes for validation: every key exists (each contact has its own), and none can be set."""

    def __getitem__(self, key: str) -> str:
        return ""

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


SAMPLE_CONTACT = TemplateContact("Camille", "Martin", "fr", "FR", _AnyAttributes())


@dataclass(frozen=True, slots=True)
class BoundedTemplate:
    """A compiled marketer template; render() runs it within the render limits."""

    template: Template

    def render(self, **context: Any) -> str:
        """Render, or raise RenderLimitExceeded (or the template's own error)."""
        return render_bounded(self.template, context)


def _json_default(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _finalize(value: Any) -> Any:
    return "" if value is None else value


def _default(value: Any, default_value: Any = "", boolean: bool = False) -> Any:
    """`default`: the fallback for a missing field, and for an empty one too (a contact is stored with "")."""
    missing = isinstance(value, Undefined) or value is None or (isinstance(value, str) and not value.strip())
    return default_value if missing or (boolean and not value) else value


def _environment(*, html: bool, strict: bool) -> BoundedSandbox:
    env = BoundedSandbox(
        autoescape=html,
        undefined=StrictUndefined if strict else ChainableUndefined,
        finalize=_finalize,
        keep_trailing_newline=True,
    )
    env.plain_fields = {TemplateContact: _CONTACT_FIELDS}
    # Only `contact` is visible: no range(), lipsum(), cycler()... to misuse.
    env.globals.clear()
    # Contact data (imports, sign-up forms) must never become markup.
    env.filters.pop("safe", None)
    # `{{ contact.first_name | default("ami") }}` must greet a contact whose first name is empty too.
    env.filters["default"] = env.filters["d"] = bounded_filter("default", _default)
    # |tojson reads the read-only copies as the objects they were.
    env.policies["json.dumps_kwargs"] = {"sort_keys": True, "default": _json_default}
    return env


# Rendering tolerates a missing attribute (renders empty); validation reports it.
HTML_ENV = _environment(html=True, strict=False)
TEXT_ENV = _environment(html=False, strict=False)
_STRICT_HTML_ENV = _environment(html=True, strict=True)
_STRICT_TEXT_ENV = _environment(html=False, strict=True)


def compile_template(source: str, *, html: bool) -> BoundedTemplate:
    """Compile a validated template for rendering."""
    return BoundedTemplate((HTML_ENV if html else TEXT_ENV).from_string(source))


def _template_line(exc: BaseException) -> int | None:
    """Line in the template where a render error happened (Jinja rewrites tracebacks to point there)."""
    lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if f.filename == TEMPLATE_NAME]
    return lines[-1] if lines and lines[-1] else None


def _unknown_names(ast: nodes.Template, extra: Mapping[str, object]) -> str | None:
    allowed = ALLOWED_NAMES | set(extra)
    unknown = meta.find_undeclared_variables(ast) - allowed
    if not unknown:
        return None
    first = min(
        (n for n in ast.find_all(nodes.Name) if n.name in unknown and n.ctx == "load"),
        key=lambda n: n.lineno,
    )
    if not extra:
        return N_(
            "line %(line)s: unknown name %(name)r; only 'contact' is available",
            line=first.lineno,
            name=first.name,
        )
    names = ", ".join(repr(name) for name in sorted(allowed))
    return N_(
        "line %(line)s: unknown name %(name)r; available: %(names)s",
        line=first.lineno,
        name=first.name,
        names=names,
    )


def _autoescape_switch(ast: nodes.Template) -> str | None:
    for node in ast.find_all((nodes.EvalContextModifier, nodes.ScopedEvalContextModifier)):
        if any(option.key == "autoescape" for option in node.options):
            return N_("line %(line)s: autoescaping cannot be turned off", line=node.lineno)
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


def _with_marker(html: str, footer: str) -> str:
    """Put the footer before the last </body>, or at the end when there is none."""
    at = html.lower().rfind("</body")
    if at < 0:
        return html + footer
    return html[:at] + footer + html[at:]


def footer_stays_visible(rendered_html: str) -> bool:
    """False when markup left open (comment, <style>, <script>, a tag...) would swallow the footer."""
    parser = _MarkerFinder()
    parser.feed(_with_marker(rendered_html, FOOTER_MARKER))
    parser.close()
    return parser.found


def _check(field: str, source: str, *, html: bool, extra: Mapping[str, object]) -> str | None:
    """First problem in one template as 'line N: message', or None."""
    env = _STRICT_HTML_ENV if html else _STRICT_TEXT_ENV
    try:
        ast = env.parse(source, name=TEMPLATE_NAME)
        # Analysing names runs the compiler, which also reports unknown filters and tests.
        problem = _unknown_names(ast, extra) or (_autoescape_switch(ast) if html else None)
    except TemplateSyntaxError as exc:
        # Jinja's own words stay as Jinja wrote them (English): only our frame around them is translated.
        return N_("line %(line)s: %(problem)s", line=exc.lineno, problem=exc.message or "")
    if problem:
        return problem
    if field == "subject" and "\n" in source.strip():
        return N_("line 2: the subject must fit on one line")
    try:
        rendered = render_bounded(env.from_string(source), {"contact": SAMPLE_CONTACT, **extra})
    except RenderLimitExceeded as exc:
        line = _template_line(exc)
        limit: str = exc.args[0] if exc.args else str(exc)  # a Reason: its catalogue form is kept
        return N_("line %(line)s: %(problem)s", line=line, problem=limit) if line else limit
    except MemoryError:
        raise  # not the template's fault alone: the caller (isolation.py) reports it as a limit
    except TemplateError as exc:
        message = (exc.message or type(exc).__name__).replace(
            f"{TemplateContact.__module__}.TemplateContact object", "contact"
        )
        return N_("line %(line)s: %(problem)s", line=_template_line(exc) or 1, problem=message)
    except Exception as exc:  # e.g. a division by zero or a bad filter argument in the template
        return N_(
            "line %(line)s: %(kind)s: %(problem)s",
            line=_template_line(exc) or 1,
            kind=type(exc).__name__,
            problem=str(exc),
        )
    if html and not footer_stays_visible(rendered):
        return N_(
            "markup left open at the end (comment, <style>, <script>, <title> or a tag) would hide the footer"
        )
    return None


# How a problem crosses from the child process: a Reason does not pickle, its catalogue form does.
Portable = tuple[str, dict[str, object]]


def _check_field(field: str, source: str, html: bool, extra: Mapping[str, object]) -> Portable | None:
    """_check() with positional arguments, as a child process calls it; the problem as (msgid, values)."""
    problem = _check(field, source, html=html, extra=extra)
    if problem is None:
        return None
    if isinstance(problem, Reason):
        return problem.msgid, {k: v if isinstance(v, int) else str(v) for k, v in problem.values.items()}
    return problem, {}


def _arrived(portable: Portable | None) -> str | None:
    """A problem back from the child, in its catalogue form again."""
    if portable is None:
        return None
    msgid, values = portable
    return N_(msgid, **values)


def _fields(subject: str, body_html: str, body_text: str) -> list[tuple[str, str, bool]]:
    """The three templates of an email in the order their errors are reported: (field, source, is HTML)."""
    return [
        ("subject", subject or "", False),
        ("body_html", body_html or "", True),
        ("body_text", body_text or "", False),
    ]


def check_content(
    subject: str, body_html: str, body_text: str, extra: Mapping[str, object] | None = None
) -> None:
    """Check the three templates of an email in this process; raise ValidationFailed({field: 'line N: message'}).

    For the send loop, whose work horse is disposable; the web process calls validate_content().
    `extra` names the variables a campaign kind adds beside `contact` (requalification: its links), with
    sample values.
    """
    errors: dict[str, str] = {}
    for field, source, html in _fields(subject, body_html, body_text):
        problem = _check(field, source, html=html, extra=extra or {})
        if problem:
            errors[field] = problem
    if errors:
        raise ValidationFailed(errors)


class _Passed:
    """Templates this process saw pass the check, by a digest of what was checked (at most SIZE, the latest).

    The check is a pure function of the field, its source and the extra variables: a campaign's page shows its
    preview on every visit, and starting a child process each time took a second on a loaded host. Only
    passes are remembered: a refusal, or a child a hard limit stopped (a busy host), is checked again."""

    SIZE = 512

    def __init__(self) -> None:
        self._digests: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _digest(key: Any) -> str:
        return hashlib.sha256(repr(key).encode()).hexdigest()

    def seen(self, key: Any) -> bool:
        """Whether this check passed before in this process."""
        digest = self._digest(key)
        with self._lock:
            if digest in self._digests:
                self._digests.move_to_end(digest)
                return True
        return False

    def remember(self, key: Any) -> None:
        """Note a pass."""
        digest = self._digest(key)
        with self._lock:
            self._digests[digest] = None
            while len(self._digests) > self.SIZE:
                self._digests.popitem(last=False)


_passed = _Passed()


def _key_of(calls: list[tuple[str, tuple[str, str, bool, dict[str, object]]]], field: str) -> Any:
    """The key _Passed files a field's check under, from the call made for it."""
    _, (name, source, html, extra) = next(call for call in calls if call[0] == field)
    return (name, source, html, sorted(extra.items()))


def validate_content(
    subject: str, body_html: str, body_text: str, extra: Mapping[str, object] | None = None
) -> None:
    """check_content() in a child process under hard limits (isolation.py); raise ValidationFailed.

    A template the hard limits stop is refused on its field with the limit named (no line: the child ended).
    """
    calls: list[tuple[str, tuple[str, str, bool, dict[str, object]]]] = []
    errors: dict[str, str | None] = {}
    for field, source, html in _fields(subject, body_html, body_text):
        if "{" not in source:
            # Without {{ }}, {% %} or {# #} it is text, not a program: checked here at the cost of reading it.
            errors[field] = _check(field, source, html=html, extra=extra or {})
        elif not _passed.seen((field, source, html, sorted((extra or {}).items()))):
            calls.append((field, (field, source, html, dict(extra or {}))))
    for checked, result in isolation.run_isolated(_check_field, calls).items():
        errors[checked] = result.message if isinstance(result, isolation.Stopped) else _arrived(result)
        if result is None:
            _passed.remember(_key_of(calls, checked))
    problems = {field: problem for field, _, _ in _fields("", "", "") if (problem := errors.get(field))}
    if problems:
        raise ValidationFailed(problems)
