"""The `<style>` rules a message may keep in its head: MJML's responsive media queries, and nothing that hides.

MJML lays columns out as inline blocks 100% wide (stacked, as on a phone) and widens them to their share in
a `@media only screen and (min-width:480px)` rule of its head. The rendered body's `<style>` elements are
parsed with tinycss2 (the CSS parser bleach's CSS sanitiser is built on) and a rule is kept only when every
part of it is known to be harmless:

- its selectors are simple: an optional tag name and one or more class names (`.mj-column-per-50`,
  `table.mj-full-width-mobile`); never an id, attribute, pseudo-class, `*` or combinator, so a rule reaches
  only elements of the body that carry its class, never the footer (which carries none) nor a neighbour;
- its declarations pass the allow-list and the length bounds of a style attribute (sanitise.py, css.py);
- it stands at the top level or in an `@media` rule whose condition is about the screen's width only.

Everything else (other at-rules, `@import`, `url()`, comments, escapes) is dropped. `!important` is kept in
a kept declaration: it is how a media query overrides a column's inline width, and it can only make an
allowed, bounded declaration win over another one of the same element. The sanitiser keeps exactly the
class names these rules name, and no other.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from html.parser import HTMLParser

import tinycss2
from tinycss2 import ast

from sender.services.messages.css import bounded_style

# Words a width media query is made of: `only screen and (min-width: 480px)`.
_MEDIA_WORDS = frozenset({"only", "screen", "all", "and"})
_MEDIA_FEATURES = frozenset({"min-width", "max-width"})
_MEDIA_UNITS = frozenset({"px", "em", "rem"})


@dataclass(frozen=True)
class Kept:
    """The kept CSS (to go in the document's head) and the class names its selectors use."""

    css: str = ""
    classes: frozenset[str] = frozenset()


class _StyleElements(HTMLParser):
    """Collects the text of every `<style>` element (those inside comments, Outlook's, are comments)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.inside = False
        self.sheets: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "style":
            self.inside = True
            self.sheets.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self.inside = False

    def handle_data(self, data: str) -> None:
        if self.inside:
            self.sheets[-1] += data


def style_elements(html: str) -> list[str]:
    """The text of each `<style>` element of an HTML document or fragment, in order."""
    parser = _StyleElements()
    parser.feed(html)
    parser.close()
    return parser.sheets


def _meaningful(tokens: list[ast.Node]) -> list[ast.Node]:
    return [t for t in tokens if not isinstance(t, ast.WhitespaceToken | ast.Comment)]


def _selector_classes(prelude: list[ast.Node], tags: Collection[str]) -> set[str] | None:
    """The class names of a selector list of `tag.class.class` compounds, or None when any part is not one."""
    classes: set[str] = set()
    for selector in _split(prelude, ","):
        tokens = [t for t in selector if not isinstance(t, ast.Comment)]
        while tokens and isinstance(tokens[0], ast.WhitespaceToken):
            tokens.pop(0)
        while tokens and isinstance(tokens[-1], ast.WhitespaceToken):
            tokens.pop()
        if not tokens:
            return None
        if isinstance(tokens[0], ast.IdentToken):
            if tokens[0].lower_value not in tags:
                return None
            tokens = tokens[1:]
        if not tokens or len(tokens) % 2:
            return None
        for dot, name in zip(tokens[::2], tokens[1::2], strict=True):
            if not (isinstance(dot, ast.LiteralToken) and dot.value == "."):
                return None
            if not isinstance(name, ast.IdentToken):
                return None
            classes.add(name.value)
    return classes


def _split(tokens: list[ast.Node], separator: str) -> list[list[ast.Node]]:
    parts: list[list[ast.Node]] = [[]]
    for token in tokens:
        if isinstance(token, ast.LiteralToken) and token.value == separator:
            parts.append([])
        else:
            parts[-1].append(token)
    return parts


def _width_query(prelude: list[ast.Node]) -> bool:
    """True for a media condition made of `only`, `screen`, `all`, `and` and `(min|max-width: <length>)`."""
    tokens = _meaningful(prelude)
    if not tokens:
        return False
    for token in tokens:
        if isinstance(token, ast.IdentToken) and token.lower_value in _MEDIA_WORDS:
            continue
        if isinstance(token, ast.ParenthesesBlock):
            inner = _meaningful(token.content)
            if (
                len(inner) == 3
                and isinstance(inner[0], ast.IdentToken)
                and inner[0].lower_value in _MEDIA_FEATURES
                and isinstance(inner[1], ast.LiteralToken)
                and inner[1].value == ":"
                and isinstance(inner[2], ast.DimensionToken)
                and inner[2].lower_unit in _MEDIA_UNITS
                and 0 <= inner[2].value <= 4000
            ):
                continue
        return False
    return True


def _declarations(content: list[ast.Node], allowed: Collection[str]) -> list[str]:
    """The declarations of a rule that a style attribute could hold, each with its `!important` if it had one."""
    kept = []
    for item in tinycss2.parse_blocks_contents(content, skip_comments=True, skip_whitespace=True):
        if not isinstance(item, ast.Declaration):
            continue
        value = tinycss2.serialize(item.value).strip()
        bounded = bounded_style(f"{item.lower_name}:{value}", allowed)
        if bounded:
            kept.append(bounded + (" !important" if item.important else ""))
    return kept


def _rule(rule: ast.QualifiedRule, tags: Collection[str], allowed: Collection[str]) -> tuple[str, set[str]]:
    """A kept rule as CSS with its class names, or "" when its selector or every declaration goes."""
    classes = _selector_classes(rule.prelude, tags)
    if not classes or rule.content is None:
        return "", set()
    declarations = _declarations(rule.content, allowed)
    if not declarations:
        return "", set()
    selector = ",".join(
        "".join(tinycss2.serialize([t]) for t in _meaningful(part)) for part in _split(rule.prelude, ",")
    )
    return f"{selector}{{{';'.join(declarations)}}}", classes


def keep(html: str, tags: Collection[str], allowed: Collection[str]) -> Kept:
    """The safe rules of a rendered body's `<style>` elements; `tags` may be named, `allowed` properties set."""
    rules: list[str] = []
    classes: set[str] = set()
    for sheet in style_elements(html):
        for node in tinycss2.parse_stylesheet(sheet, skip_comments=True, skip_whitespace=True):
            if isinstance(node, ast.QualifiedRule):
                css, names = _rule(node, tags, allowed)
                if css:
                    rules.append(css)
                    classes |= names
            elif (
                isinstance(node, ast.AtRule)
                and node.lower_at_keyword == "media"
                and node.content is not None
                and _width_query(node.prelude)
            ):
                inner = []
                for child in tinycss2.parse_rule_list(node.content, skip_comments=True, skip_whitespace=True):
                    if isinstance(child, ast.QualifiedRule):
                        css, names = _rule(child, tags, allowed)
                        if css:
                            inner.append(css)
                            classes |= names
                if inner:
                    query = " ".join(tinycss2.serialize([t]) for t in _meaningful(node.prelude))
                    rules.append(f"@media {query}{{{''.join(inner)}}}")
    css = "\n".join(rules)
    # Nothing kept can close the element it goes in (no `<` passes the checks); a last guard all the same.
    if "<" in css:
        return Kept()
    return Kept(css, frozenset(classes))
