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


# Two columns as MJML writes them: side by side on a wide screen, stacked on a phone (its media query).
TWO_COLUMNS = (
    "<mjml><mj-body><mj-section>"
    "<mj-column><mj-text>Left column, the news.</mj-text></mj-column>"
    "<mj-column><mj-text>Right column, the offer.</mj-text></mj-column>"
    "</mj-section></mj-body></mjml>"
)
_COLUMNS = """() => [...document.querySelectorAll('div.mj-column-per-50')].map(el => {
  const r = el.getBoundingClientRect();
  return {left: r.left, top: r.top, width: r.width, bottom: r.bottom};
})"""


def _mjml_message(settings: Settings, runtime: Runtime) -> str:
    """The HTML part of an MJML two-column campaign as it is sent (converted, rendered, sanitised, footer)."""
    import email
    from email.policy import default as default_policy

    from sender.services.campaigns.schema import CampaignDraft
    from sender.services.messages.rendering import EmailRenderer
    from tests.factories import CampaignFactory, ContactFactory, PurposeFactory, WordingFactory

    purpose = PurposeFactory()
    WordingFactory(purpose=purpose)
    draft = CampaignDraft.parse(
        {
            "name": "n",
            "purpose": purpose.slug,
            "subject": "s",
            "body_format": "mjml",
            "body_source": TWO_COLUMNS,
        }
        | {"body_text_derived": True}
    )
    campaign = CampaignFactory(purpose_id=purpose.id, **draft.content())
    sent = EmailRenderer(settings, runtime.tokens, campaign, purpose).render(ContactFactory(), 7)
    part = email.message_from_bytes(sent.data, policy=default_policy).get_body(("html",))  # type: ignore[attr-defined]
    assert part is not None
    return str(part.get_content())


@pytest.mark.usefixtures("db_session")
def test_mjml_columns_stand_side_by_side_at_600_px_and_stack_at_390(
    chromium: Any, settings: Settings, runtime: Runtime
) -> None:
    html = _mjml_message(settings, runtime)
    chromium.emulate_media(color_scheme="light")
    chromium.set_viewport_size({"width": 600, "height": 900})
    chromium.set_content(html, wait_until="load")
    left, right = chromium.evaluate(_COLUMNS)
    assert left["top"] == right["top"] and right["left"] >= left["left"] + left["width"] - 1, (left, right)
    assert left["width"] < 320 and right["width"] < 320

    chromium.set_viewport_size({"width": 390, "height": 900})
    chromium.set_content(html, wait_until="load")
    left, right = chromium.evaluate(_COLUMNS)
    assert right["top"] >= left["bottom"] - 1 and right["left"] == left["left"], (left, right)
    assert left["width"] > 300 and right["width"] > 300
    footer = chromium.evaluate(
        "() => document.querySelector('[role=contentinfo]').getBoundingClientRect().top"
    )
    assert footer >= right["bottom"]
