"""A campaign body in its format (rich text, Markdown, HTML, MJML) turned into the HTML template that is sent.

One converter per format. Whatever the format, its result is only a template: it is then rendered in the
sandbox, sanitised and given its footer and exits exactly as HTML written by hand (rendering.py, sanitise.py).
Jinja tags in the source (`{{ … }}`, `{% … %}`, `{# … #}`) are set aside before a converter runs and put back
after, so no converter escapes their quotes or reads their `|` as a table or their `_` as emphasis.
"""

from __future__ import annotations

import html
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass

import html2text
import mjml
from markdown_it import MarkdownIt

from sender.enums import BodyFormat
from sender.i18n import N_
from sender.services.errors import ValidationFailed
from sender.services.messages.sanitise import sanitise_html

_JINJA_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
# Quill marks alignment with classes, which the sanitiser drops: written as the style it means.
_QUILL_ALIGN = re.compile(r'\sclass="ql-align-(center|right|justify)"')
# Quill's spaces (see richtext_to_html).
_NBSP = re.compile(r"&nbsp;|\xa0")


@dataclass(frozen=True)
class _SetAside:
    """A source whose Jinja tags were replaced by placeholders made of letters and digits only."""

    text: str
    tags: tuple[str, ...]
    nonce: str

    def restore(self, converted: str) -> str:
        """The converted text with each placeholder replaced by its tag, as written."""
        return re.sub(rf"sndr{self.nonce}n(\d+)e", lambda match: self.tags[int(match.group(1))], converted)


def _set_aside(source: str) -> _SetAside:
    """Replace each Jinja tag by a placeholder no converter gives a meaning to (and no author writes)."""
    nonce = secrets.token_hex(4)
    tags: list[str] = []

    def placeholder(match: re.Match[str]) -> str:
        tags.append(match.group(0))
        return f"sndr{nonce}n{len(tags) - 1}e"

    return _SetAside(_JINJA_TAG.sub(placeholder, source), tuple(tags), nonce)


# CommonMark with tables and strikethrough; raw HTML in the Markdown is shown as text, never passed through.
_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
    ["table", "strikethrough"]
)


def markdown_to_html(source: str) -> str:
    """Markdown as HTML (markdown-it-py, raw HTML disabled); links with unsafe schemes are not made links."""
    aside = _set_aside(source)
    return aside.restore(_MARKDOWN.render(aside.text))


def richtext_to_html(source: str) -> str:
    """The rich-text editor's HTML, with its alignment classes as styles and its tags' escapes undone.

    Quill writes every space as a non-breaking one, which would keep mail clients from wrapping lines and
    break `{{ … }}`: they become plain spaces.
    """
    aligned = _QUILL_ALIGN.sub(lambda match: f' style="text-align:{match.group(1)}"', _NBSP.sub(" ", source))
    return _JINJA_TAG.sub(lambda match: html.unescape(match.group(0)), aligned)


def mjml_to_html(source: str) -> str:
    """MJML compiled to HTML (mjml-python); ValidationFailed naming the parser's complaint."""
    aside = _set_aside(source)
    try:
        compiled = mjml.mjml2html(aside.text)
    except ValueError as exc:
        raise ValidationFailed({"body_source": N_("not valid MJML: %(reason)s", reason=str(exc))}) from None
    return aside.restore(compiled)


def _same(source: str) -> str:
    return source


_CONVERTERS: dict[str, Callable[[str], str]] = {
    BodyFormat.RICHTEXT: richtext_to_html,
    BodyFormat.MARKDOWN: markdown_to_html,
    BodyFormat.HTML: _same,
    BodyFormat.MJML: mjml_to_html,
}


def to_html(body_format: str, source: str) -> str:
    """The HTML template of a body written in `body_format`; ValidationFailed when it cannot be converted."""
    if not source.strip():
        return ""
    return _CONVERTERS[BodyFormat(body_format)](source)


def _html_to_markdown(template: str, *, markdown: bool) -> str:
    """The sanitised HTML as Markdown (html2text), or as plain text without Markdown's emphasis marks."""
    aside = _set_aside(template)
    writer = html2text.HTML2Text(bodywidth=0)
    writer.unicode_snob = True
    writer.images_to_alt = not markdown
    writer.ignore_emphasis = not markdown
    writer.protect_links = False
    return aside.restore(writer.handle(sanitise_html(aside.text))).strip() + "\n"


def plain_text(template: str) -> str:
    """The plain-text template derived from an HTML template: what a reader sees, links as [text](url)."""
    if not template.strip():
        return ""
    return _html_to_markdown(template, markdown=False)


def source_of(body_format: str, source: str, template: str) -> str:
    """The body as written: for an HTML campaign saved through a path that knows only body_html, its HTML."""
    return template if body_format == BodyFormat.HTML and not source else source


def parts(body_format: str, source: str, text: str, *, text_derived: bool) -> tuple[str, str]:
    """The HTML and text templates of a body: the HTML from its source, the text as written or derived."""
    template = to_html(body_format, source)
    return template, plain_text(template) if text_derived else text


# What switching a body to each format keeps and loses, shown before converting.
SWITCH_NOTICES = {
    BodyFormat.RICHTEXT: N_(
        "To rich text: paragraphs, headings, lists, links, bold and italics are kept; tables, colours, "
        "images' sizes and layout are lost (Markdown converts without loss)."
    ),
    BodyFormat.MARKDOWN: N_(
        "To Markdown: text, headings, lists, links and images are kept; layout, colours, alignment and "
        "tables' styles are lost."
    ),
    BodyFormat.HTML: N_("To HTML: the HTML the body renders to is kept as it is; you then edit its markup."),
    BodyFormat.MJML: N_(
        "To MJML: the body is kept as one text block of a one-column layout; build the layout around it."
    ),
}


def convert(source: str, from_format: str, to_format: str) -> str:
    """A body rewritten from one format into another, keeping what the target can hold (SWITCH_NOTICES)."""
    source_format, target = BodyFormat(from_format), BodyFormat(to_format)
    if source_format == target or not source.strip():
        return source
    rendered = to_html(source_format, source)
    if target == BodyFormat.MARKDOWN:
        return _html_to_markdown(rendered, markdown=True)
    if target == BodyFormat.MJML:
        if source_format == BodyFormat.MJML:
            return source
        return (
            "<mjml>\n  <mj-body>\n    <mj-section>\n      <mj-column>\n        <mj-text>\n"
            f"{rendered.strip()}\n"
            "        </mj-text>\n      </mj-column>\n    </mj-section>\n  </mj-body>\n</mjml>\n"
        )
    # Rich text and HTML are both HTML: the editor keeps what it knows of the rest when it loads it.
    return rendered
