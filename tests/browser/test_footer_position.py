"""Where the footer lands in Chromium for a short body made hostile with allowed CSS and size attributes
(issue 15, item 4): the message's HTML part, as it is sent, rendered and measured."""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session

from sender.config import Settings
from sender.models import Contact, Purpose
from sender.runtime import Runtime
from sender.services.messages.rendering import EmailRenderer
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.factories import CampaignFactory, ContactFactory, PurposeFactory, WordingFactory

pytestmark = [pytest.mark.browser]

# Well within a first screen or two for a short body; each hostile template below put it ~100,000 px down.
FOOTER_TOP_LIMIT = 5000
IMAGE = "https://images.example.org/banner.png"
NESTED_EM = '<div style="font-size:6em">' * 8 + "x" + "</div>" * 8
HOSTILE = {
    "padding-bottom": '<p style="padding-bottom:100000px">Hi</p>',
    "img height": f'<img src="{IMAGE}" height="100000" alt="">',
    "border-bottom": '<div style="border-bottom:100000px solid #ffffff">Hi</div>',
    "line-height": '<p style="line-height:100000px">Hi</p>',
    "unitless line-height": '<p style="line-height:1000">Hi</p>',
    "font-size": '<p style="font-size:100000px">Hi</p>',
    "nested em font sizes": NESTED_EM,
    "margin-bottom": '<p style="margin-bottom:100000px">Hi</p>',
    "min-height": '<div style="min-height:100000px">Hi</div>',
    "height": '<div style="height:100000px">Hi</div>',
    "padding in em": '<p style="padding:1000em">Hi</p>',
    "padding in percent": '<p style="padding-bottom:10000%">Hi</p>',
    "padding in vh": '<p style="padding-bottom:1000vh">Hi</p>',
    "calc()": '<p style="padding-bottom:calc(1px * 100000)">Hi</p>',
    "exponent": '<p style="padding-bottom:1e5px">Hi</p>',
    "escape": '<p style="padding-bottom:1\\30 0000px">Hi</p>',
    "important": '<p style="padding-bottom:100000px !important">Hi</p>',
    "vertical-align": '<span style="vertical-align:-100000px">Hi</span>',
    "cellpadding": '<table cellpadding="100000"><tr><td>Hi</td></tr></table>',
    "table border": '<table border="100000"><tr><td>Hi</td></tr></table>',
    "cell width and letter-spacing": '<table><tr><td width="100000" style="letter-spacing:5000px">Hi</td></tr></table>',
}


def _png(width: int, height: int) -> bytes:
    """A grey PNG of this size, made here: no image needs to be fetched."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = (b"\x00" + b"\x80" * width) * height
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One headless Chromium page for the module, as wide as a mail client's reading pane; a 600 x 200
    image is served for IMAGE and every other request is refused."""
    if not os.path.exists(CHROMIUM):
        pytest.fail("Chromium is required for browser tests")
    from playwright.sync_api import sync_playwright

    banner = _png(600, 200)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 800, "height": 600})
        page.route(
            "**/*",
            lambda route: (
                route.fulfill(body=banner, content_type="image/png")
                if route.request.url == IMAGE
                else route.abort()
            ),
        )
        try:
            yield page
        finally:
            browser.close()


@pytest.fixture
def purpose(db_session: Session) -> Purpose:
    purpose = PurposeFactory()
    WordingFactory(purpose=purpose)
    return purpose


@pytest.fixture
def contact(db_session: Session) -> Contact:
    return ContactFactory(first_name="Camille")


def _html_part(settings: Settings, runtime: Runtime, purpose: Purpose, contact: Contact, body: str) -> str:
    """The HTML part of the message the worker would send for this body."""
    campaign = CampaignFactory(purpose_id=purpose.id, body_html=body, body_text="Hi")
    message = EmailRenderer(settings, runtime.tokens, campaign, purpose).render(contact, 1).message()
    part = message.get_body(("html",))
    assert part is not None
    return str(part.get_content())


def _footer_box(page: Any, html: str) -> dict[str, float]:
    """Top (from the top of the document) and height of the footer, in CSS pixels, once images are loaded."""
    page.set_content(html, wait_until="load")
    box: dict[str, float] = page.evaluate(
        """() => {
            const r = document.querySelector('[role=contentinfo]').getBoundingClientRect();
            return {top: r.top + window.scrollY, height: r.height};
        }"""
    )
    return box


def test_a_short_body_puts_the_footer_near_the_top(
    chromium: Any, settings: Settings, runtime: Runtime, purpose: Purpose, contact: Contact
) -> None:
    box = _footer_box(chromium, _html_part(settings, runtime, purpose, contact, "<p>Hi</p>"))
    assert 0 < box["top"] < 200 and box["height"] > 50


@pytest.mark.parametrize("body", HOSTILE.values(), ids=HOSTILE.keys())
def test_allowed_css_and_attributes_cannot_push_the_footer_out_of_sight(
    chromium: Any, settings: Settings, runtime: Runtime, purpose: Purpose, contact: Contact, body: str
) -> None:
    box = _footer_box(chromium, _html_part(settings, runtime, purpose, contact, body))

    assert box["top"] < FOOTER_TOP_LIMIT
    assert box["height"] > 50  # still laid out as a footer, not squeezed away
