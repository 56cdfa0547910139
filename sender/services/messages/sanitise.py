"""Marketer HTML made safe to send: an nh3 allow-list per message, then the footer where no markup can reach it.

The rendered body (template and contact data together) is sanitised for every message, so neither a template
nor a contact attribute can hide the footer or put a script URL in a link. nh3 returns a fragment whose
elements are all closed; the system footer follows it inside our own document skeleton.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

import nh3
from markupsafe import escape

from sender.services.messages import stylesheet
from sender.services.messages.css import bounded_style, size_attribute_fits

# Layout and text tags for email; nothing that hides or collapses content (<details>, <template>, <style>).
ALLOWED_TAGS = frozenset(
    {
        *("a", "abbr", "b", "blockquote", "br", "caption", "center", "cite", "code", "col", "colgroup"),
        *("div", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "li", "ol", "p", "pre", "q"),
        *("s", "small", "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead"),
        *("tr", "u", "ul"),
    }
)
_CELL = {"colspan", "rowspan", "width", "valign"}
ALLOWED_ATTRIBUTES = {
    "*": {"style", "align", "dir", "lang", "title"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "table": {"width", "border", "cellpadding", "cellspacing"},
    "td": _CELL,
    "th": _CELL,
    "col": {"span", "width"},
}
# Presentation only: nothing that hides (visibility, opacity, `display:none`), moves (position, margin,
# transform) or clips (height, overflow) an element, and no url() (background). Their lengths are bounded and
# `display` keeps only layout values (css.py).
ALLOWED_STYLE_PROPERTIES = frozenset(
    {
        "display",
        *("color", "background-color", "font-family", "font-size", "font-style", "font-weight"),
        *("text-align", "text-decoration", "text-transform", "line-height", "letter-spacing"),
        *("vertical-align", "width", "max-width", "border-collapse", "border-radius"),
        *("padding", "padding-top", "padding-right", "padding-bottom", "padding-left"),
        *("border", "border-top", "border-right", "border-bottom", "border-left"),
        *("border-color", "border-style", "border-width"),
    }
)
# Dropped with their content: browsers never show it as text.
_DROPPED_WITH_CONTENT = frozenset(
    {"script", "style", "title", "template", "textarea", "noscript", "xmp", "iframe", "noembed", "noframes"}
)
LINK_SCHEMES = ("http://", "https://", "mailto:")
_IMAGE_SCHEMES = ("http://", "https://")
_SIZE_ATTRIBUTES = frozenset({"width", "height", "border", "cellpadding", "cellspacing"})

DOCUMENT_HEAD = '<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head><body>\n'
DOCUMENT_TAIL = "</body></html>\n"


class ExitLinksMissing(ValueError):
    """A message about to be sent lacks its unsubscribe or portal link in a part (never by construction)."""


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    """Keep absolute http(s) and mailto links and http(s) images; drop relative and every other scheme.

    Styles keep only the declarations whose lengths are bounded, and a size attribute over its bound goes,
    so nothing can push the footer out of sight (css.py).
    """
    if attribute == "href":
        return value if value.strip().lower().startswith(LINK_SCHEMES) else None
    if attribute == "src":
        return value if value.strip().lower().startswith(_IMAGE_SCHEMES) else None
    if attribute == "style":
        return bounded_style(value, ALLOWED_STYLE_PROPERTIES) or None
    if attribute in _SIZE_ATTRIBUTES:
        return value if size_attribute_fits(attribute, value) else None
    return value


@functools.lru_cache(maxsize=64)
def _cleaner(classes: frozenset[str]) -> nh3.Cleaner:
    """The sanitiser for bodies whose head styles name `classes`, built once per set of names.

    nh3.clean() builds its sanitiser from these options on every call, which cost six times the cleaning
    of a newsletter's body (measured: 35 µs against 6 µs per message)."""
    return nh3.Cleaner(
        tags=set(ALLOWED_TAGS),
        allowed_classes={tag: set(classes) for tag in ALLOWED_TAGS} if classes else None,
        clean_content_tags=set(_DROPPED_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=_attribute_filter,
        strip_comments=True,
        url_schemes={"http", "https", "mailto"},
        filter_style_properties=set(ALLOWED_STYLE_PROPERTIES),
    )


def sanitise_html(html: str, classes: frozenset[str] = frozenset()) -> str:
    """The allowed subset of a rendered body, as a fragment whose elements are all closed; comments removed.

    `classes` are the class names an element may keep: those the kept head styles name (stylesheet.py).
    """
    return _cleaner(classes).clean(html)


def insert_footer(
    rendered_body: str, footer_html: str, head: str = DOCUMENT_HEAD, tail: str = DOCUMENT_TAIL
) -> str:
    """The HTML part: the rendered body sanitised (every element closed), then the footer, outside it.

    `head` and `tail` are the system's document around them (a template's layout asks for its viewport,
    colour scheme and background: layouts.HEAD). The body's `<style>` rules that are safe (MJML's media
    queries: stylesheet.py) go in the head, and its elements keep the class names those rules use."""
    kept = head_styles(rendered_body)
    if kept.css:
        head = head.replace("</head>", f"<style>\n{kept.css}\n</style></head>", 1)
    return f"{head}{sanitise_html(rendered_body, kept.classes)}\n{footer_html}{tail}"


def head_styles(rendered_body: str) -> stylesheet.Kept:
    """The safe rules of a rendered body's `<style>` elements, and the class names they use."""
    return stylesheet.keep(rendered_body, ALLOWED_TAGS, ALLOWED_STYLE_PROPERTIES)


def check_exits(text: str, html: str, urls: Iterable[str]) -> None:
    """Refuse a message whose text or HTML part lacks one of its exit links (a last check before sending)."""
    for url in urls:
        if url not in text:
            raise ExitLinksMissing("an exit link is missing from the text part")
        if f'href="{escape(url)}"' not in html:
            raise ExitLinksMissing("an exit link is missing from the HTML part")
