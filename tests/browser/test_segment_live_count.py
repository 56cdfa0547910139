"""The segment form in a real browser: the count and the first members follow the filters as they are
typed, before saving (static segment.js calling the CSRF-protected preview endpoint)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from sender.models import ContactTag
from sender.services.accounts import users
from tests import factories
from tests.browser.conftest import Site
from tests.factories import ContactFactory

pytestmark = [pytest.mark.browser, pytest.mark.e2e]
PASSWORD = "correct horse battery staple"


def test_the_segment_count_follows_the_filters_before_saving(site: Site, page: Any) -> None:
    session = site.runtime.Session()
    factories.bind(session)
    users.create_user(session, "marketer@exemple.org", "marketer", PASSWORD)
    acme = [ContactFactory(attributes={"company": f"ACME {n}"}) for n in range(2)]
    vip = ContactFactory(attributes={"company": "Globex"})
    ContactFactory(attributes={})
    session.flush()
    session.add(ContactTag(contact_id=vip.id, tag="vip"))
    session.commit()
    acme_email, vip_email = acme[0].email, vip.email
    session.close()
    violations: list[str] = []
    page.on(
        "console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None
    )

    page.goto("/admin/signin")
    page.get_by_label("Email").fill("marketer@exemple.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/admin/")

    page.goto("/admin/segments/new")
    count = page.locator("#segment-count")
    # No filter yet: everyone.
    expect(count).to_have_attribute("data-count", "4")
    page.locator('[name="groups-0-attributes-0-field"]').fill("company")
    page.locator('[name="groups-0-attributes-0-op"]').select_option("contains")
    page.locator('[name="groups-0-attributes-0-value"]').fill("acme")
    expect(count).to_have_attribute("data-count", "2")
    expect(page.locator("#segment-preview table")).to_contain_text(acme_email)
    # An OR group: the tagged contact joins.
    page.get_by_role("button", name="Add an OR group").click()
    page.locator('[name="groups-1-tags"]').fill("vip")
    expect(count).to_have_attribute("data-count", "3")
    expect(page.locator("#segment-preview table")).to_contain_text(vip_email)

    page.get_by_label("Name", exact=True).fill("Acme or VIP")
    page.get_by_role("button", name="Save the segment").click()
    page.wait_for_url("**/admin/segments/*")
    expect(page.get_by_text("3 contacts match right now")).to_be_visible()
    assert violations == []
