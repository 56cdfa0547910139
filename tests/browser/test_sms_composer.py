"""The SMS composer in a real browser: choosing SMS hides the email fields, and the segment counter
follows the text as it is typed (static sms.js calling the CSRF-protected counter endpoint)."""

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


def test_the_sms_composer_counts_segments_as_one_types(site: Site, page: Any) -> None:
    session = site.runtime.Session()
    factories.bind(session)
    users.create_user(session, "marketer@exemple.org", "marketer", PASSWORD)
    PurposeFactory(slug="offers", name="Offers")
    lst = ContactList(name="Customers", description="")
    session.add(lst)
    session.commit()
    list_id = lst.id
    session.close()

    page.goto("/admin/signin")
    page.get_by_label("Email").fill("marketer@exemple.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/admin/")

    page.goto("/admin/campaigns/new")
    expect(page.get_by_label("Subject")).to_be_visible()
    expect(page.locator("#sms-counter")).to_be_hidden()
    page.get_by_label("Channel").select_option("sms")
    expect(page.get_by_label("Subject")).to_be_hidden()
    expect(page.get_by_label("Written in")).to_be_hidden()
    expect(page.locator("#sms-counter")).to_be_visible()
    page.get_by_label("Name (internal)").fill("Flash sale")
    page.get_by_label("Purpose").select_option("offers")
    page.get_by_label("Lists").select_option(str(list_id))
    # The mentions ("\nExemple SAS", 12 characters) count: 148 + 12 = 160 GSM-7 characters, one segment.
    page.get_by_label("Text body").fill("a" * 148)
    expect(page.locator("#sms-characters")).to_have_text("160")
    expect(page.locator("#sms-encoding")).to_have_text("GSM-7")
    expect(page.locator("#sms-segments")).to_have_text("1")
    page.get_by_label("Text body").fill("ê" + "a" * 147)
    expect(page.locator("#sms-encoding")).to_have_text("UCS-2")
    expect(page.locator("#sms-segments")).to_have_text("3")
    page.get_by_role("button", name="Save the draft").click()
    page.wait_for_url("**/admin/campaigns/*")
    expect(page.locator("pre.sms-text")).to_have_text("ê" + "a" * 147 + "\nExemple SAS")
