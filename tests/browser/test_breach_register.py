"""The breach register in a real browser: the DPO records an incident found out 80 hours ago, the dashboard
counts it overdue, and the late notification is refused at its field until its reasons are given."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from sender.services.accounts import users
from tests.browser.conftest import Site

pytestmark = [pytest.mark.browser, pytest.mark.e2e]
PASSWORD = "correct horse battery staple"
PARIS = ZoneInfo("Europe/Paris")


def _local(moment: datetime) -> str:
    return moment.astimezone(PARIS).strftime("%Y-%m-%dT%H:%M")


def test_a_dpo_records_an_incident_and_notifies_it_late_with_reasons(site: Site, page: Any) -> None:
    with site.runtime.Session() as session:
        users.create_user(session, "dpo@exemple.org", "dpo", PASSWORD)
        session.commit()
    now = datetime.now(PARIS)

    page.goto("/admin/signin")
    page.get_by_label("Email").fill("dpo@exemple.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/admin/")

    page.get_by_role("link", name="Breaches").click()
    page.get_by_label("Title").fill("Stolen laptop")
    page.get_by_label("Aware since").fill(_local(now - timedelta(hours=80)))
    page.get_by_label("Nature of the breach").fill("A laptop holding a contact export was stolen.")
    page.get_by_label("Data categories (comma-separated)").fill("email, first name")
    page.get_by_label("People affected (approximately)").fill("250")
    page.get_by_role("button", name="Record", exact=True).click()
    expect(page.get_by_text("Incident recorded.")).to_be_visible()
    expect(page.locator("#breach-clock")).to_contain_text("passed")

    page.goto("/admin/")
    expect(page.locator("#breach-countdown")).to_contain_text("Stolen laptop")
    expect(page.locator("#breach-countdown")).to_contain_text("passed 8 h")
    page.locator("#breach-countdown").get_by_role("link", name="Stolen laptop").click()

    page.get_by_label("Notified at").fill(_local(now))
    page.get_by_role("button", name="Record the notification").click()
    error = page.locator("#late_reasons-error")
    expect(error).to_contain_text("past the 72-hour deadline")
    expect(page.get_by_label("Reasons for the delay")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("Reasons for the delay").fill("The theft was reported to us three days late.")
    page.get_by_role("button", name="Record the notification").click()
    expect(page.get_by_text("Notification recorded.")).to_be_visible()
    expect(page.locator("#breach-clock")).to_contain_text("late")
    page.goto("/admin/")
    expect(page.locator("#breach-countdown")).to_have_count(0)
