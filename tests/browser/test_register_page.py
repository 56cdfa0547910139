"""The register of processing in a real browser: a DPO finds the incomplete entry, completes the processor
it names, and sees the entry complete."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from sender.services.accounts import users
from tests import factories
from tests.browser.conftest import Site
from tests.factories import PurposeFactory

pytestmark = [pytest.mark.browser, pytest.mark.e2e]
PASSWORD = "correct horse battery staple"


def test_a_dpo_completes_the_register_from_its_page(site: Site, page: Any) -> None:
    session = site.runtime.Session()
    factories.bind(session)
    users.create_user(session, "dpo@exemple.org", "dpo", PASSWORD)
    PurposeFactory(slug="newsletter", name="Monthly newsletter", data_categories=["email address"])
    session.commit()
    session.close()

    page.goto("/admin/signin")
    page.get_by_label("Email").fill("dpo@exemple.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/admin/")
    page.get_by_role("link", name="Register").click()
    page.wait_for_url("**/admin/register")
    # The site sends through a relay (SMTP_URL): its entry is derived, and waits to be completed.
    expect(page.locator("#entry-sending-email .missing")).to_contain_text(
        "processor email: country, transfer_mechanism, contract_ref, since"
    )
    expect(page.locator("#entry-staff")).to_contain_text("hash-chained audit trail")
    expect(page.locator("#entry-staff .missing")).to_have_count(0)

    page.get_by_role("link", name="Processors and transfers").click()
    expect(page.locator("#processor-email")).to_contain_text("to complete")
    page.locator("#processor-email a").click()
    page.wait_for_url("**/admin/processors/email")
    page.get_by_label("Name").fill("Relais Mail SAS")
    page.get_by_label("Country (ISO code, e.g. FR, US)").fill("fr")
    page.get_by_label("Transfer mechanism").select_option("eea")
    page.get_by_label("Contract / DPA reference").fill("DPA-2024-11")
    page.get_by_label("Processor since").fill("2024-11-01")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/admin/processors")
    expect(page.locator("#processor-email")).to_contain_text("FR")

    page.goto("/admin/register")
    expect(page.locator("#register-complete")).to_be_visible()
    expect(page.locator("#entry-sending-email")).to_contain_text("Relais Mail SAS (delivers email, FR)")

    # The printable page keeps its own style under the staff pages' Content-Security-Policy.
    page.goto("/admin/register/export.html")
    expect(
        page.get_by_role("heading", name="Register of processing activities (GDPR Art. 30(1))")
    ).to_be_visible()
    expect(page.locator("th").first).to_have_css("background-color", "rgb(238, 238, 238)")
