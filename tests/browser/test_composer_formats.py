"""Writing a campaign without HTML (issue 19, items 1 and 4), in Chromium: rich text in the vendored Quill
editor and Markdown, a contact field inserted from the menu with its fallback, the preview for a picked
contact, a test send received over SMTP with its footer and exits, a hostile paste sanitised, and no CSP
violation anywhere."""

from __future__ import annotations

import html
import io
import re
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import expect

from sender.models import ContactList
from sender.services.accounts import users
from tests import factories
from tests.browser.conftest import Site
from tests.browser.test_composer_preview import RECORD_VIOLATIONS
from tests.factories import ContactFactory, PurposeFactory

pytestmark = [pytest.mark.browser, pytest.mark.e2e]
PASSWORD = "correct horse battery staple"
# The preview is rendered on the server (its templates checked in a child process): on a busy machine it
# takes longer than Playwright's default wait.
WAIT = 30_000
# What a page copied from a hostile site would put on the clipboard.
HOSTILE_PASTE = (
    '<p onclick="steal()">Offre <a href="javascript:steal()">ici</a> '
    '<img src="x" onerror="steal()"></p><script>steal()</script>'
    '<div style="display:none;position:fixed">caché</div><style>body{display:none}</style>'
)
# Markup that runs or hides something: a script or style element, an event handler, a javascript: URL, a
# style attribute that hides or moves.
HARMFUL = re.compile(r"<script|<style|\son\w+\s*=|javascript:|style=\"[^\"]*(display|position)")
PASTE = """
([html]) => {
  const data = new DataTransfer();
  data.setData("text/html", html);
  data.setData("text/plain", "Offre ici");
  document.querySelector(".ql-editor").dispatchEvent(
    new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true })
  );
}
"""


def _setup(site: Site) -> int:
    session = site.runtime.Session()
    factories.bind(session)
    users.create_user(session, "marketer@exemple.org", "marketer", PASSWORD)
    PurposeFactory(slug="news", name="Newsletter")
    # A contact without a first name, picked for the preview: the fallback greets them.
    ContactFactory(email="nameless@example.org", first_name="")
    lst = ContactList(name="Customers", description="")
    session.add(lst)
    session.commit()
    list_id = lst.id
    session.close()
    return list_id


def _sign_in(page: Any) -> list[str]:
    console: list[str] = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    page.context.add_init_script(RECORD_VIOLATIONS)
    page.goto("/admin/signin")
    page.get_by_label("Email").fill("marketer@exemple.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/admin/")
    return console


def _start(page: Any, list_id: int, name: str) -> None:
    page.goto("/admin/campaigns/new")
    page.get_by_label("Name (internal)").fill(name)
    page.get_by_label("Purpose").select_option("news")
    page.get_by_label("Lists").select_option(str(list_id))
    page.get_by_label("Subject").fill('Nouvelles pour {{ contact.first_name | default("vous") }}')


def _send_test(page: Any, site: Site, count: int) -> EmailMessage:
    page.get_by_role("button", name="Save the draft").click()
    page.wait_for_url(re.compile(r".*/admin/campaigns/\d+$"))
    page.get_by_label("Send a test to").fill("tester@exemple.org")
    page.get_by_role("button", name="Send a test").click()
    message = site.mail.wait_for(count, timeout=60)[count - 1].message()
    assert str(message["Subject"]).startswith("[TEST] Nouvelles pour Camille")
    return message


def _check_exits(message: EmailMessage) -> tuple[str, str]:
    html_part, text_part = message.get_body(("html",)), message.get_body(("plain",))
    assert html_part is not None and text_part is not None
    html, text = html_part.get_content(), text_part.get_content()
    unsubscribe = re.search(r"<(https?://[^>]+/u/[^>]+)>", str(message["List-Unsubscribe"]))
    assert unsubscribe is not None
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    for part in (html, text):
        assert "/u/" in part and "/p/" in part  # the unsubscribe and privacy-portal exits
    assert html.index("/p/") > html.index("Bonjour")  # the footer follows the body
    return html, text


def _no_csp_violation(page: Any, console: list[str]) -> None:
    assert page.evaluate("window.__violations || []") == []
    assert [line for line in console if "Content Security Policy" in line] == []


def test_compose_in_rich_text_insert_a_field_preview_and_send_a_test(site: Site, page: Any) -> None:
    list_id = _setup(site)
    console = _sign_in(page)
    _start(page, list_id, "Rich")

    editor = page.locator(".ql-editor")
    expect(editor).to_be_visible()  # rich text is the default, in the vendored editor
    editor.click()
    page.keyboard.type("Bonjour ")
    page.get_by_label("Insert a contact field").select_option(
        label='First name: {{ contact.first_name | default("ami") }}'
    )
    page.keyboard.type(" !")
    page.get_by_role("button", name="Bold").click()
    page.keyboard.type(" Gras")

    frame = page.frame_locator("#preview-html")
    expect(frame.get_by_text("Bonjour Camille !")).to_be_visible(timeout=WAIT)
    expect(frame.locator("strong", has_text="Gras")).to_be_visible(timeout=WAIT)
    # The text part is derived from the body.
    expect(page.locator("#preview-text")).to_contain_text("Bonjour Camille !", timeout=WAIT)
    # Previewed for a picked contact who has no first name: the fallback greets them.
    page.get_by_label("Preview for the contact with this address").fill("nameless@example.org")
    expect(frame.get_by_text("Bonjour ami !")).to_be_visible(timeout=WAIT)

    # A hostile paste keeps its text; the editor drops what it cannot hold, the server sanitises the rest.
    editor.click()
    page.keyboard.press("End")
    page.evaluate(PASTE, [HOSTILE_PASTE])
    expect(frame.get_by_text("Offre", exact=False)).to_be_visible(timeout=WAIT)
    # Its script's text may stay as text; nothing of it can run or hide anything.
    assert not HARMFUL.search(page.locator("#body_source").input_value().lower())

    message = _send_test(page, site, 1)
    html, text = _check_exits(message)
    assert "Bonjour Camille !" in html and re.search(r"<strong>\s*Gras</strong>", html)
    assert "Bonjour Camille !" in text
    assert not HARMFUL.search(html.lower())
    _no_csp_violation(page, console)


def test_compose_in_markdown_with_a_field_preview_and_send_a_test(site: Site, page: Any) -> None:
    list_id = _setup(site)
    console = _sign_in(page)
    _start(page, list_id, "Markdown")

    page.get_by_label("Written in").select_option("markdown")
    body = page.get_by_label("Body", exact=True)
    expect(body).to_be_visible()  # an empty body switches at once, without converting
    body.fill("# Bonjour \n\nNotre [boutique](https://exemple.test/shop) ouvre *dimanche*.")
    body.press("Home")
    body.evaluate("(area) => { area.selectionStart = area.selectionEnd = 10; }")
    page.get_by_label("Insert a contact field").select_option(
        label='First name: {{ contact.first_name | default("ami") }}'
    )
    assert body.input_value().startswith('# Bonjour {{ contact.first_name | default("ami") }}')

    frame = page.frame_locator("#preview-html")
    expect(frame.get_by_role("heading", name="Bonjour Camille")).to_be_visible(timeout=WAIT)
    expect(frame.get_by_role("link", name="boutique")).to_have_attribute(
        "href", "https://exemple.test/shop", timeout=WAIT
    )
    expect(page.locator("#preview-text")).to_contain_text(
        "[boutique](https://exemple.test/shop)", timeout=WAIT
    )

    message = _send_test(page, site, 1)
    html, text = _check_exits(message)
    assert "<h1>Bonjour Camille</h1>" in html and "<em>dimanche</em>" in html
    assert "[boutique](https://exemple.test/shop)" in text
    _no_csp_violation(page, console)


def test_switching_a_written_body_warns_and_converts_on_the_server(site: Site, page: Any) -> None:
    list_id = _setup(site)
    console = _sign_in(page)
    _start(page, list_id, "Switch")
    page.get_by_label("Written in").select_option("markdown")
    page.get_by_label("Body", exact=True).fill("# Titre\n\nUn *mot*.")
    page.get_by_label("Written in").select_option("richtext")
    expect(page.locator("#format-notice")).to_contain_text("To rich text", timeout=WAIT)
    page.get_by_role("button", name="Convert the body to this format").click()
    editor = page.locator(".ql-editor")
    expect(editor.locator("h1")).to_have_text("Titre", timeout=WAIT)
    expect(editor.locator("em")).to_have_text("mot", timeout=WAIT)
    expect(page.locator("#format-notice")).to_contain_text("To rich text", timeout=WAIT)
    _no_csp_violation(page, console)


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (900, 300), (30, 110, 160)).save(out, format="PNG")
    return out.getvalue()


def test_a_marketer_writes_a_templated_newsletter_with_an_image_and_an_attribute(
    site: Site, page: Any, tmp_path: Path
) -> None:
    """The issue's "done when": rich text with a field and a custom attribute, an image, a template switch
    that keeps the text, the preview at 600 and 390 px, a test send received with footer, exits and image."""
    list_id = _setup(site)
    session = site.runtime.Session()
    factories.bind(session)
    ContactFactory(email="lyon@example.org", first_name="Inès", attributes={"city": "Lyon"})
    session.commit()
    session.close()
    console = _sign_in(page)

    # An image uploaded from the composer's Images section, with its alt text.
    picture = tmp_path / "shop.png"
    picture.write_bytes(_png())
    page.goto("/admin/campaigns/new")
    page.get_by_label("Image (PNG, JPEG, GIF or WebP)").set_input_files(str(picture))
    page.get_by_label("Alt text (describes the image)").fill("Our shop front")
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url("**/admin/campaigns/new")

    _start(page, list_id, "Newsletter")
    editor = page.locator(".ql-editor")
    editor.click()
    page.keyboard.type("Bonjour ")
    page.get_by_label("Insert a contact field").select_option(
        label='First name: {{ contact.first_name | default("ami") }}'
    )
    page.keyboard.type(", news from ")
    # A custom attribute, with the fallback typed by the author.
    page.get_by_label("Fallback for the inserted field").fill("Paris")
    page.get_by_label("Insert a contact field").select_option(
        label='city: {{ contact.attributes.city | default("") }}'
    )
    editor.click()
    page.keyboard.press("Control+End")
    page.keyboard.press("Enter")
    page.get_by_label("Insert an image").select_option(label="Our shop front")
    expect(editor.locator('img[alt="Our shop front"]')).to_have_count(1)
    source = page.locator("#body_source")
    # Quill escapes the quotes of what it holds; the converter reads the expression as typed.
    assert '{{ contact.attributes.city | default("Paris") }}' in html.unescape(source.input_value())

    frame = page.frame_locator("#preview-html")
    expect(frame.get_by_text("Bonjour Camille, news from Paris")).to_be_visible(timeout=WAIT)
    page.get_by_label("Preview for the contact with this address").fill("lyon@example.org")
    expect(frame.get_by_text("Bonjour Inès, news from Lyon")).to_be_visible(timeout=WAIT)

    # A template switch keeps what was written, and the preview shows it inside the layout.
    written = source.input_value()
    page.get_by_label("Template").select_option(label="Newsletter")
    expect(frame.get_by_text("Bonjour Inès, news from Lyon")).to_be_visible(timeout=WAIT)
    assert source.input_value() == written
    expect(editor).to_contain_text("Bonjour")
    page.get_by_label("Template").select_option(label="Plain letter")
    page.get_by_label("Template").select_option(label="Newsletter")
    assert source.input_value() == written

    # The preview at a desktop client's width and at a phone's.
    preview = page.locator("#preview-html")
    page.get_by_label("390 px (phone)").check()
    expect(preview).to_have_class(re.compile(r"\bwidth-390\b"))
    box = preview.bounding_box()
    assert box is not None and round(box["width"]) == 390
    expect(frame.get_by_text("Bonjour Inès, news from Lyon")).to_be_visible(timeout=WAIT)
    page.get_by_label("600 px (desktop)").check()
    box = preview.bounding_box()
    assert box is not None and round(box["width"]) == 600

    message = _send_test(page, site, 1)
    body, text = _check_exits(message)
    assert "Bonjour Camille, news from Paris" in body and "Bonjour Camille, news from Paris" in text
    image = re.search(r'<img src="([^"]+/media/[A-Za-z0-9_-]+)" alt="Our shop front"', body)
    assert image is not None, body
    served = page.request.get(image.group(1))
    assert served.status == 200 and served.headers["content-type"] == "image/png"
    assert "background-color:#eef1f4" in body  # the Newsletter layout wraps the body
    _no_csp_violation(page, console)
