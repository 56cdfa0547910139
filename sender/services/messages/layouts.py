"""A template's layout around a campaign's body: checked at save time, rendered once per batch, wrapped per message.

The layout is a sandboxed template that sees only the organisation's brand (`org_name`, `brand_color`,
`logo_url`) and `content`, the slot where the campaign's rendered body goes. The wrapped HTML then goes
through the same sanitiser and footer injection as a body without a template (sanitise.insert_footer), so
nothing a layout does can hide the footer or the exits.
"""

from __future__ import annotations

from dataclasses import dataclass

from jinja2 import TemplateSyntaxError, meta

from sender.config import Settings
from sender.i18n import N_
from sender.services.errors import ValidationFailed
from sender.services.messages.bounded import render_bounded
from sender.services.messages.limits import RenderLimitExceeded
from sender.services.messages.sandbox import HTML_ENV, TEXT_ENV, footer_stays_visible

SLOT = "@@SENDER-CONTENT@@"
NAMES = frozenset({"content", "org_name", "brand_color", "logo_url"})
# A dark blue: white text on it has a contrast of 8.6:1 (WCAG AA asks 4.5).
DEFAULT_BRAND_COLOR = "#1f4e79"
SAMPLE = {"org_name": "Example SAS", "brand_color": DEFAULT_BRAND_COLOR, "logo_url": "", "content": SLOT}
# The document of a message with a layout: a phone's width, and light colours kept in dark mode. Clients
# that honour color-scheme keep the layout's own contrast; the others invert it as a whole. The system
# paints the background behind the layout and the footer too, so no text ever sits on a dark canvas.
_PAPER = "background-color:#ffffff;color:#1f1f1f"
HEAD = (
    '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
    '<meta name="color-scheme" content="light only"><meta name="supported-color-schemes" content="light only">'
    f'</head><body style="margin:0;{_PAPER}">\n<div style="{_PAPER};padding:0 8px 16px">\n'
)
TAIL = "</div></body></html>\n"


@dataclass(frozen=True)
class Layout:
    """A layout rendered for one organisation: what goes before and after the body, in HTML and in text."""

    html_before: str
    html_after: str
    text_before: str
    text_after: str

    def wrap_html(self, body: str) -> str:
        """The rendered body inside the layout (still to be sanitised)."""
        return f"{self.html_before}{body}{self.html_after}"

    def wrap_text(self, body: str) -> str:
        """The rendered text body inside the text layout."""
        return f"{self.text_before}{body}{self.text_after}"


def _render(source: str, values: dict[str, str], *, html: bool) -> str:
    env = HTML_ENV if html else TEXT_ENV
    return render_bounded(env.from_string(source), values)


def _problem(source: str, *, html: bool) -> str | None:
    """The first problem of one layout, or None."""
    env = HTML_ENV if html else TEXT_ENV
    try:
        unknown = sorted(meta.find_undeclared_variables(env.parse(source)) - NAMES)
    except TemplateSyntaxError as exc:
        return f"line {exc.lineno}: {exc.message}"
    if unknown:
        return N_(
            "unknown name %(name)r; available: %(names)s",
            name=unknown[0],
            names=", ".join(sorted(NAMES)),
        )
    try:
        rendered = _render(source, SAMPLE, html=html)
    except RenderLimitExceeded as exc:
        return str(exc)
    except Exception as exc:  # a bad filter argument, a division by zero...
        return f"{type(exc).__name__}: {exc}"
    if rendered.count(SLOT) != 1:
        return N_("the layout must contain {{ content }} exactly once")
    if html and not footer_stays_visible(rendered.replace(SLOT, "")):
        return N_("markup left open at the end (comment, <style>, <script> or a tag) would hide the footer")
    return None


def check(layout_html: str, layout_text: str) -> None:
    """Refuse a layout that does not compile, names unknown variables, or lacks its one content slot."""
    errors = {
        field: problem
        for field, source, html in (("layout_html", layout_html, True), ("layout_text", layout_text, False))
        if (problem := _problem(source, html=html))
    }
    if errors:
        raise ValidationFailed(errors)


def prepare(layout_html: str, layout_text: str, settings: Settings) -> Layout:
    """Render a layout with the organisation's brand, once per batch; ValidationFailed if it no longer renders."""
    values = {
        "org_name": settings.org_name,
        "brand_color": settings.brand_color or DEFAULT_BRAND_COLOR,
        "logo_url": settings.brand_logo_url,
        "content": SLOT,
    }
    try:
        html = _render(layout_html, values, html=True)
        text = _render(layout_text or "{{ content }}", values, html=False)
    except Exception as exc:
        raise ValidationFailed({"template": f"{type(exc).__name__}: {exc}"}) from None
    if html.count(SLOT) != 1 or text.count(SLOT) != 1:
        raise ValidationFailed({"template": N_("the layout must contain {{ content }} exactly once")})
    html_before, html_after = html.split(SLOT)
    text_before, text_after = text.split(SLOT)
    return Layout(html_before, html_after, text_before, text_after)
