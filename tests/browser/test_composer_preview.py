"""The composer's live preview in a real browser (issue 16, item 5): the message's inline styles apply in
the sandboxed frame, and Chromium reports no CSP violation, in the page or in the frame."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from sender.models import ContactList
from sender.services.accounts import users
from tests import factories
from tests.browser.conftest import Site
from tests.factories import PurposeFactory

pytestmark = [pytest.mark.browser, pytest.mark.e2e]
PASSWORD = "correct horse battery staple"
# The preview is rendered on the server (its templates checked in a child process): on a busy machine it
# takes longer than Playwright's default wait.
WAIT = 30_000
# Listens in every frame, the preview's included: a violation there is the bug itself.
RECORD_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", function (event) {
  var top = window.top;
  try { top.__violations = top.__violations || []; top.__violations.push(event.violatedDirective); }
  catch (e) { (window.__violations = window.__violations || []).push(event.violatedDirective); }
});
"""
STYLED = (
    '<p style="color: #c81e1e; font-size: 20px">Big news, {{ contact.first_name }}</p>'
    '<p><a href="https://exemple.test/shop" style="background-color: #1a56db; color: #ffffff; '
    'padding: 8px 16px">Visit the shop</a></p>'
)


def test_the_live_preview_applies_the_message_styles_with_no_csp_violation(site: Site, page: Any) -> None:
    session = site.runtime.Session()
    factories.bind(session)
    users.create_user(session, "marketer@exemple.org", "marketer", PASSWORD)
    PurposeFactory(slug="news", name="Newsletter")
    lst = ContactList(name="Customers", description="")
    session.add(lst)
    session.commit()
    list_id = lst.id
    session.close()
    console: list[str] = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    page.context.add_init_script(RECORD_VIOLATIONS)

    page.goto("/admin/signin")
    page.get_by_label("Email").fill("marketer@exemple.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/admin/")

    page.goto("/admin/campaigns/new")
    page.get_by_label("Name (internal)").fill("Spring sale")
    page.get_by_label("Purpose").select_option("news")
    page.get_by_label("Lists").select_option(str(list_id))
    page.get_by_label("Subject").fill("Spring, {{ contact.first_name }}")
    page.get_by_label("Text body").fill("Big news, {{ contact.first_name }}")
    page.get_by_label("Written in").select_option("html")
    page.get_by_label("Body", exact=True).fill(STYLED)
    expect(page.locator("#preview-subject")).to_have_text("Spring, Camille", timeout=WAIT)

    frame = page.frame_locator("#preview-html")
    heading = frame.get_by_text("Big news, Camille")
    expect(heading).to_have_css("color", "rgb(200, 30, 30)", timeout=WAIT)
    expect(heading).to_have_css("font-size", "20px")
    button = frame.get_by_role("link", name="Visit the shop")
    expect(button).to_have_css("background-color", "rgb(26, 86, 219)")
    expect(button).to_have_css("color", "rgb(255, 255, 255)")
    # The draft travels in a POST body: the frame's address names no contact and no content.
    assert page.locator("#preview-html").get_attribute("src") is None

    assert page.evaluate("window.__violations || []") == []
    assert [line for line in console if "Content Security Policy" in line] == []
