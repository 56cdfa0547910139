"""The built-in templates in Chromium (issue 19, item 2): at 600 and 390 pixels wide nothing overflows
sideways, the footer shows, and in dark mode every text keeps a readable contrast with what is behind it."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.config import Settings
from sender.models import Template
from sender.runtime import Runtime
from sender.services.composer import template_preview
from sender.services.composer import templates as library
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

pytestmark = [pytest.mark.browser]

WIDTHS = (600, 390)
# WCAG 2 AA for body text.
MIN_CONTRAST = 4.5
IMAGE = "https://images.example.org/wide.png"
# A body as marketers write it: a wide image (1,200 px, as uploads are kept) and a long link.
BODY = (
    "<h1>Spring newsletter</h1><p>Hello {{ contact.first_name }}, here is a longer paragraph that wraps.</p>"
    f'<p><img src="{IMAGE}" alt="A wide picture" width="552" style="max-width:100%;border:0"></p>'
    '<p><a href="https://example.org/a/very/long/path/that/should/wrap/anyway">Read more</a></p>'
)

# Every element that holds text: its colour and the first opaque background behind it (null: the canvas).
_TEXTS = """() => {
  const out = [];
  const opaque = (c) => c && c !== 'transparent' && !/rgba\\(.*,\\s*0\\)$/.test(c);
  for (const el of document.body.querySelectorAll('*')) {
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own) continue;
    let bg = null;
    for (let at = el; at; at = at.parentElement) {
      const c = getComputedStyle(at).backgroundColor;
      if (opaque(c)) { bg = c; break; }
    }
    out.push({tag: el.tagName, text: el.textContent.trim().slice(0, 40), color: getComputedStyle(el).color, bg});
  }
  return out;
}"""


def _rgb(css: str) -> tuple[int, int, int]:
    parts = css[css.index("(") + 1 : css.index(")")].replace("/", ",").split(",")
    red, green, blue = (round(float(p)) for p in parts[:3])
    return red, green, blue


def _luminance(rgb: tuple[int, int, int]) -> float:
    channels = [c / 255 for c in rgb]
    red, green, blue = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def _contrast(first: tuple[int, int, int], second: tuple[int, int, int]) -> float:
    high, low = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """A headless Chromium page; IMAGE is a 1,200 px wide picture, every other request is refused."""
    if not os.path.exists(CHROMIUM):
        pytest.fail("Chromium is required for browser tests")
    from playwright.sync_api import sync_playwright

    picture = io.BytesIO()
    Image.new("RGB", (1200, 400), (90, 140, 60)).save(picture, format="PNG")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.route(
            "**/*",
            lambda route: (
                route.fulfill(body=picture.getvalue(), content_type="image/png")
                if route.request.url == IMAGE
                else route.abort()
            ),
        )
        try:
            yield page
        finally:
            browser.close()


def _message(settings: Settings, runtime: Runtime, db_session: Session, key: str) -> str:
    library.ensure_built_ins(db_session)
    template = db_session.scalars(select(Template).where(Template.key == key)).one()
    return template_preview.html(settings, runtime.tokens, template, BODY)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("key", sorted(library.BUILT_INS))
def test_a_built_in_template_fits_and_shows_its_footer(
    chromium: Any, settings: Settings, runtime: Runtime, db_session: Session, key: str, width: int
) -> None:
    chromium.set_viewport_size({"width": width, "height": 900})
    chromium.emulate_media(color_scheme="light")
    chromium.set_content(_message(settings, runtime, db_session, key), wait_until="load")
    sizes = chromium.evaluate(
        "() => ({scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth})"
    )
    assert sizes["scroll"] <= sizes["client"], sizes
    footer = chromium.evaluate(
        """() => {
            const f = document.querySelector('[role=contentinfo]');
            const r = f.getBoundingClientRect();
            const s = getComputedStyle(f);
            return {left: r.left, right: r.right, height: r.height, visible: s.visibility, display: s.display};
        }"""
    )
    assert footer["height"] > 50 and footer["visible"] == "visible" and footer["display"] != "none"
    assert footer["left"] >= 0 and footer["right"] <= width
    # The picture shrinks to the column instead of widening the page.
    image = chromium.evaluate(
        "() => document.querySelector('img[alt=\"A wide picture\"]').getBoundingClientRect().right"
    )
    assert image <= width


@pytest.mark.parametrize("key", sorted(library.BUILT_INS))
def test_a_built_in_template_keeps_its_contrast_in_dark_mode(
    chromium: Any, settings: Settings, runtime: Runtime, db_session: Session, key: str
) -> None:
    chromium.set_viewport_size({"width": 390, "height": 2400})
    chromium.emulate_media(color_scheme="dark")
    chromium.set_content(_message(settings, runtime, db_session, key), wait_until="load")
    assert chromium.evaluate("() => matchMedia('(prefers-color-scheme: dark)').matches")
    # The canvas as drawn, read from a pixel below the message.
    shot = Image.open(io.BytesIO(chromium.screenshot(clip={"x": 1, "y": 2398, "width": 1, "height": 1})))
    canvas = shot.convert("RGB").getpixel((0, 0))
    assert isinstance(canvas, tuple)
    texts = chromium.evaluate(_TEXTS)
    assert len(texts) > 5
    for text in texts:
        behind = _rgb(text["bg"]) if text["bg"] else (canvas[0], canvas[1], canvas[2])
        ratio = _contrast(_rgb(text["color"]), behind)
        assert ratio >= MIN_CONTRAST, (key, text, behind, round(ratio, 2))
