"""The `<style>` rules a message keeps in its head: MJML's responsive media queries, never CSS that hides."""

from __future__ import annotations

import re

import pytest

from sender.services.messages import formats
from sender.services.messages.sanitise import insert_footer

FOOTER = '<div role="contentinfo"><a href="https://sender.test/p/x">exits</a></div>'
TWO_COLUMNS = (
    "<mjml><mj-body><mj-section>"
    "<mj-column><mj-text>Left</mj-text></mj-column><mj-column><mj-text>Right</mj-text></mj-column>"
    "</mj-section></mj-body></mjml>"
)


def _head(html: str) -> str:
    return html[: html.index("</head>")]


def test_mjml_keeps_its_media_query_and_the_classes_it_names() -> None:
    message = insert_footer(formats.to_html("mjml", TWO_COLUMNS), FOOTER)
    assert (
        "@media only screen and (min-width:480px){.mj-column-per-50{width:50% !important;max-width:50%}}"
        in (_head(message))
    )
    columns = re.findall(r'<div class="mj-column-per-50" style="([^"]*)"', message)
    assert len(columns) == 2 and all("display:inline-block" in style for style in columns)
    # MJML's other classes, its @import of a web font and its Firefox rule (a descendant selector) go.
    assert (
        "mj-outlook-group-fix" not in message and "@import" not in message and "moz-text-html" not in message
    )


@pytest.mark.parametrize(
    "sheet",
    [
        "* { display: none !important; }",
        "div { display: none }",
        "[role=contentinfo] { color: #fff }",
        "#footer { color: #fff }",
        ".a ~ div { color: #fff }",
        ".a + * { font-size: 0 }",
        ".a > p, .b { color: red }",
        ".a:not(.b) { color: red }",
        ".a::after { content: 'x' }",
        "body { visibility: hidden }",
        ".a { display: none }",
        ".a { position: fixed; top: 0 }",
        ".a { height: 100000px; overflow: hidden }",
        ".a { padding-bottom: 90000px }",
        ".a { background: url(https://tracker.test/p.gif) }",
        ".a { color: expression(alert(1)) }",
        ".a { font-family: '</style><script>alert(1)</script>' }",
        "@import url(https://tracker.test/s.css);",
        "@font-face { font-family: x; src: url(https://tracker.test/f.woff) }",
        "@media print { .a { color: red } }",
        "@media (prefers-color-scheme: dark) { .a { color: #000 } }",
        "@supports (display: grid) { .a { color: red } }",
        "@media screen and (min-width: 480px) { div { display: none } }",
    ],
)
def test_css_that_could_hide_reach_beyond_its_class_or_fetch_is_dropped(sheet: str) -> None:
    message = insert_footer(f'<style>{sheet}</style><p class="a b">Texte</p>', FOOTER)
    assert "<style>" not in message and "<script" not in message
    assert "<p>Texte</p>" in message  # a class no kept rule names is removed too
    assert message.index("Texte") < message.index('role="contentinfo"')


def test_a_safe_rule_is_kept_beside_a_dropped_one_and_only_its_classes_stay() -> None:
    message = insert_footer(
        "<style>.wide { width: 50% !important; display: none } .gone ~ p { color: red }"
        "@media screen and (max-width: 480px) { td.wide, .pad { padding: 10px } }</style>"
        '<table><tr><td class="wide gone pad">x</td></tr></table>',
        FOOTER,
    )
    head = _head(message)
    assert ".wide{width:50% !important}" in head
    assert "@media screen and (max-width: 480px){td.wide,.pad{padding:10px}}" in head
    assert "gone" not in message and 'class="wide pad"' in message


def test_a_style_in_a_comment_stays_a_comment() -> None:
    message = insert_footer("<!--[if mso]><style>.a { width: 50% }</style><![endif]--><p>x</p>", FOOTER)
    assert "<style>" not in message
