"""A marketer texts herself a test of an SMS campaign in a real browser, on gunicorn with Twilio pointed at
its stand-in: variant B previewed with its segments, a national number typed, and the marked text of
variant B received by Twilio, with no CSP violation on the way."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from sender.models import AbTest, CampaignVariant, ContactList
from sender.services.accounts import users
from tests import factories
from tests.browser.conftest import Site, sign_in, watch_csp
from tests.factories import CampaignFactory, PurposeFactory, WordingFactory
from tests.sms_fixtures import ALL_WEEK, STOP_TEXT, sms_env
from tests.twilio_server import TwilioTestServer

pytestmark = [pytest.mark.browser, pytest.mark.e2e]
PASSWORD = "correct horse battery staple"
TEXT_B = "Ce soir seulement : -30 %, Camille !"


@pytest.fixture
def twilio() -> Iterator[TwilioTestServer]:
    """The Twilio stand-in the deployment sends to."""
    with TwilioTestServer(latency=0) as server:
        yield server


@pytest.fixture
def site_env(twilio: TwilioTestServer) -> dict[str, str]:
    """The deployment sends SMS through the stand-in."""
    return {**sms_env(twilio), **ALL_WEEK}


def _arrange(site: Site) -> int:
    """A draft SMS campaign with an A/B test whose variant B is another text; its id."""
    session = site.runtime.Session()
    factories.bind(session)
    users.create_user(session, "marketer@exemple.org", "marketer", PASSWORD)
    purpose = PurposeFactory(slug="offers", name="Offers")
    WordingFactory(purpose=purpose)
    lst = ContactList(name="Texted", description="")
    session.add(lst)
    session.flush()
    campaign = CampaignFactory(
        name="Flash sale",
        channel="sms",
        subject="",
        body_html="",
        body_text="Soldes -20 %, {{ contact.first_name }} !",
        purpose_id=purpose.id,
        lists=[lst],
    )
    campaign.ab_test = AbTest(
        test_percent=20,
        wait_minutes=240,
        decide_by="manual",
        variants=[
            CampaignVariant(position=1, body_text="Ce soir seulement : -30 %, {{ contact.first_name }} !")
        ],
    )
    session.commit()
    campaign_id = campaign.id
    session.close()
    return campaign_id


def test_a_marketer_texts_herself_a_test_of_variant_b(
    site: Site, page: Any, twilio: TwilioTestServer
) -> None:
    campaign_id = _arrange(site)
    violations = watch_csp(page)
    sign_in(page, "marketer@exemple.org", PASSWORD)

    page.goto(f"/admin/campaigns/{campaign_id}")
    page.get_by_role("link", name="Preview of variant B").click()
    expect(page.locator("#variant-shown")).to_contain_text("B")
    expect(page.locator("pre.sms-text")).to_have_text(f"{TEXT_B}\nExemple\n{STOP_TEXT}")
    expect(page.get_by_text("Segments:")).to_contain_text("Segments: 1")

    page.get_by_label("Phone numbers for the test").fill("06 12 34 56 78")
    expect(page.get_by_label("Variant of the test message")).to_have_value("B")
    page.get_by_role("button", name="Send a test SMS").click()
    expect(page.get_by_text("Test message sent.")).to_be_visible()
    (received,) = twilio.received
    assert received.to == "+33612345678"
    assert received.body == f"[TEST] {TEXT_B}\nExemple\n{STOP_TEXT}"

    # A typo is refused at the field, and nothing more reaches Twilio.
    page.get_by_label("Phone numbers for the test").fill("06 12")
    page.get_by_role("button", name="Send a test SMS").click()
    expect(page.locator("#address-error")).to_have_text("not a valid phone number for its country")
    assert len(twilio.received) == 1
    assert violations == []
