"""A marketer builds a welcome series in the staff pages, previews its steps and activates it; a person who
then consents is enrolled, and the sequence's page counts them."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from sender.models import Campaign, Enrolment, Purpose, Sequence
from sender.services.accounts import users
from tests import factories
from tests.browser.conftest import Site
from tests.campaign_helpers import grant
from tests.factories import ContactFactory, PurposeFactory, WordingFactory

pytestmark = [pytest.mark.browser, pytest.mark.e2e]
PASSWORD = "correct horse battery staple"


def test_a_marketer_builds_a_welcome_series_and_activates_it(site: Site, page: Any) -> None:
    with site.runtime.Session() as session:
        factories.bind(session)
        users.create_user(session, "marketer@exemple.org", "marketer", PASSWORD)
        WordingFactory(purpose=PurposeFactory(slug="news", name="Newsletter"))
        session.commit()

    page.goto("/admin/signin")
    page.get_by_label("Email").fill("marketer@exemple.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/admin/")

    page.get_by_role("link", name="Sequences").click()
    page.get_by_role("link", name="New sequence").click()
    page.get_by_label("Name (internal)").fill("Welcome series")
    page.get_by_label("Purpose").select_option("news")
    page.get_by_label("Trigger").select_option("consent")
    page.locator("#steps-0-delay_value").fill("0")
    page.locator("#steps-0-delay_unit").select_option("hours")
    page.locator("#steps-0-subject").fill("Welcome {{ contact.first_name }}")
    page.locator("#steps-0-body_source").fill("# Welcome\n\nThank you for joining us.")
    page.locator("#steps-1-delay_value").fill("3")
    page.locator("#steps-1-delay_unit").select_option("days")
    page.locator("#steps-1-at_time").fill("09:00")
    page.locator("#steps-1-subject").fill("Our best tips")
    page.locator("#steps-1-body_source").fill("Three tips to get started.")
    page.get_by_role("button", name="Save the sequence").click()
    expect(page.get_by_text("Sequence saved as a draft.")).to_be_visible()
    expect(page.locator("h1")).to_contain_text("Draft")

    # Each step's preview is the message as the send path renders it, exits included.
    page.get_by_role("link", name="Welcome {{ contact.first_name }}").click()
    expect(page.locator("pre.message-text")).to_contain_text("Thank you for joining us.")
    expect(page.locator("pre.message-text")).to_contain_text("/u/")  # the one-click exit
    page.go_back()

    page.get_by_role("button", name="Activate").click()
    expect(page.get_by_text("Sequence active: its trigger now enrols people.")).to_be_visible()
    expect(page.locator("h1")).to_contain_text("Active")
    expect(page.get_by_role("button", name="Pause")).to_be_visible()

    with site.runtime.Session() as session:
        factories.bind(session)
        sequence = session.scalar(select(Sequence).where(Sequence.name == "Welcome series"))
        assert sequence is not None and sequence.status == "active"
        assert [(s.delay_value, s.delay_unit, s.at_time) for s in sequence.steps] == [
            (0, "hours", None),
            (3, "days", "09:00"),
        ]
        statuses = session.scalars(select(Campaign.status).where(Campaign.kind == "sequence")).all()
        assert statuses == ["sending", "sending"]
        # A person who consents now enters the series.
        person = ContactFactory(email="lou@example.org")
        purpose = session.get(Purpose, sequence.purpose_id)
        assert purpose is not None
        grant(session, person, purpose)
        session.commit()
        assert session.scalar(select(Enrolment.status).where(Enrolment.contact_id == person.id)) == "active"

    page.reload()
    expect(page.locator("dl")).to_contain_text("1 entered, 1 in the sequence")
    expect(page.locator("#funnel")).to_be_visible()
