"""The staff pages in a real browser: first run, sign-in, a campaign from draft to 100 %, and the
recipient's unsubscribe showing up in the consent history."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from sender.models import ContactList, ListMember
from sender.services.accounts import users
from tests import factories
from tests.browser.conftest import Site
from tests.campaign_helpers import grant
from tests.factories import ContactFactory, PurposeFactory, WordingFactory

pytestmark = [pytest.mark.browser, pytest.mark.e2e]
PASSWORD = "correct horse battery staple"


def test_first_run_setup_then_sign_in(site: Site, page: Any) -> None:
    page.goto("/")
    assert page.url.endswith("/admin/setup")
    page.get_by_label("Email").fill("first@exemple.org")
    page.get_by_label("Password (at least 12 characters)").fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Create the administrator").click()
    page.wait_for_url("**/admin/organisation")
    assert page.get_by_text("What the law requires in every message").is_visible()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/admin/signin")
    page.get_by_label("Email").fill("first@exemple.org")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_text("Wrong email or password.").is_visible()
    page.get_by_label("Email").fill("first@exemple.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/admin/")
    assert page.get_by_role("heading", name="Dashboard").is_visible()
    # Setup is closed once an admin exists.
    assert page.goto("/admin/setup").status == 404


def test_campaign_from_draft_to_unsubscribe(site: Site, page: Any) -> None:
    session = site.runtime.Session()
    factories.bind(session)
    users.create_user(session, "marketer@exemple.org", "marketer", PASSWORD)
    purpose = PurposeFactory(slug="newsletter", name="Monthly newsletter")
    WordingFactory(purpose=purpose, text="Yes, send me the monthly newsletter.")
    lst = ContactList(name="Customers", description="")
    session.add(lst)
    session.flush()
    jeanne = ContactFactory(email="jeanne@example.org", first_name="Jeanne")
    paul = ContactFactory(email="paul@example.org", first_name="Paul")
    grant(session, jeanne, purpose)
    for contact in (jeanne, paul):
        session.add(ListMember(list_id=lst.id, contact_id=contact.id))
    session.commit()
    list_id = lst.id
    # Nothing of this test may hold a transaction open while the web and worker processes write.
    session.close()

    page.goto("/admin/signin")
    page.get_by_label("Email").fill("marketer@exemple.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/admin/")

    page.goto("/admin/campaigns/new")
    page.get_by_label("Name (internal)").fill("December")
    page.get_by_label("Purpose").select_option("newsletter")
    page.get_by_label("Lists").select_option(str(list_id))
    page.get_by_label("Subject").fill("News for you, {{ contact.first_name }}")
    page.get_by_label("Text body").fill("Hello {{ contact.first_name }}, our shop opens on Sunday.")
    page.get_by_label("Written in").select_option("html")
    page.get_by_label("Body", exact=True).fill("<p>Hello {{ contact.first_name }}</p>")
    # The live preview renders the unsaved draft for the sample contact, never a list member.
    expect(page.locator("#preview-subject")).to_have_text("News for you, Camille")
    assert "List-Unsubscribe" in page.locator("#preview-headers").text_content()
    page.get_by_role("button", name="Save the draft").click()
    page.wait_for_url(re.compile(r".*/admin/campaigns/\d+$"))
    page.get_by_role("link", name="Audience preview").click()
    assert page.locator("#queued").text_content() == "1"
    assert page.get_by_text("Skipped: No consent").is_visible()
    page.go_back()

    page.get_by_role("link", name="Send now…").click()
    # The confirmation states the audience and its channel before anything leaves.
    expect(page.locator("#audience-count")).to_have_text("1")
    page.get_by_role("button", name="Send to 1 now (e-mail)").click()
    page.wait_for_selector("text=Sending started.")
    # The progress bar is refreshed by static/admin/progress.js until everything is settled.
    expect(page.locator("[data-progress-label]")).to_have_text(re.compile(r"^100 %"), timeout=60_000)

    received = site.mail.wait_for(1)
    message = received[0].message()
    assert message["To"] == "jeanne@example.org"
    link = re.search(r"<(http[^>]+/u/[^>]+)>", str(message["List-Unsubscribe"]))
    assert link is not None
    page.goto(link.group(1))
    page.get_by_role("button", name="Me désinscrire de « Monthly newsletter »").click()
    assert page.get_by_role("heading").first.is_visible()

    page.goto("/admin/contacts?q=jeanne@example.org")
    page.get_by_role("link", name="jeanne@example.org").click()
    history = page.locator("#history + table")
    assert history.locator("tr").nth(1).text_content().count("Consent withdrawn") == 1
    assert "Unsubscribe page" in history.text_content()
    assert "Consent withdrawn" in page.locator("#consent + table").text_content()
