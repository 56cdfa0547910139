"""A marketer's A/B test in a real browser, on gunicorn and a worker: set up on its page, variant B previewed
and a test of it received over SMTP, launched, the test shares received with their own subjects, the figures
shown, and the picked winner sent to the rest, with no CSP violation on the way."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from sender.models import ContactList, ListMember
from sender.services.accounts import users
from tests import factories
from tests.browser.conftest import Site, sign_in, watch_csp
from tests.campaign_helpers import grant
from tests.factories import CampaignFactory, ContactFactory, PurposeFactory, WordingFactory

pytestmark = [pytest.mark.browser, pytest.mark.e2e]
PASSWORD = "correct horse battery staple"
PEOPLE = 24
SUBJECT_A, SUBJECT_B = "Our spring sale", "Spring sale: 30 % off"


def _arrange(site: Site) -> int:
    """A draft with a tracked link for 24 consenting readers; its id."""
    session = site.runtime.Session()
    factories.bind(session)
    users.create_user(session, "marketer@exemple.org", "marketer", PASSWORD)
    purpose = PurposeFactory(slug="news", name="News")
    WordingFactory(purpose=purpose)
    lst = ContactList(name="Readers", description="")
    session.add(lst)
    session.flush()
    for n in range(PEOPLE):
        reader = ContactFactory(email=f"reader{n}@example.org")
        grant(session, reader, purpose)
        session.add(ListMember(list_id=lst.id, contact_id=reader.id))
    campaign = CampaignFactory(
        name="Spring",
        purpose_id=purpose.id,
        lists=[lst],
        subject=SUBJECT_A,
        body_html='<p><a href="https://shop.example/sale">The sale</a></p>',
        tracking_mode="aggregate",
    )
    session.commit()
    campaign_id = campaign.id
    session.close()
    return campaign_id


def _subjects(site: Site, count: int) -> list[str]:
    return [str(received.message()["Subject"]) for received in site.mail.wait_for(count, timeout=60)]


def test_a_marketer_tests_two_subjects_and_sends_the_one_she_picks_to_the_rest(site: Site, page: Any) -> None:
    campaign_id = _arrange(site)
    violations = watch_csp(page)
    sign_in(page, "marketer@exemple.org", PASSWORD)

    page.goto(f"/admin/campaigns/{campaign_id}")
    page.get_by_role("link", name="A/B test…").click()
    page.get_by_label("Subject of variant B").fill(SUBJECT_B)
    page.get_by_label("Share of the audience for each variant (%)").fill("25")
    page.get_by_label("How the winner is chosen").select_option("manual")
    page.get_by_role("button", name="Save the A/B test").click()
    expect(page.get_by_text("A/B test saved.")).to_be_visible()
    report = page.locator("#ab-test-report")
    expect(report).to_contain_text(SUBJECT_B)

    # Before the launch she previews B and sends herself a test of it.
    page.get_by_role("link", name="Preview of variant B").click()
    expect(page.locator("#shown-subject")).to_contain_text(SUBJECT_B)
    expect(page.locator("iframe.preview")).to_have_attribute("src", re.compile(r"[?&]variant=B"))
    page.get_by_label("Send a test to").fill("me@exemple.org")
    expect(page.get_by_label("Variant of the test message")).to_have_value("B")
    page.get_by_role("button", name="Send a test").click()
    expect(page.get_by_text("Test message sent.")).to_be_visible()
    (tested_b,) = site.mail.wait_for(1, timeout=60)
    assert str(tested_b.message()["Subject"]) == f"[TEST] {SUBJECT_B}"
    assert tested_b.rcpt_tos == ["me@exemple.org"]
    site.mail.reset()

    page.get_by_role("link", name="Send now…").click()
    page.get_by_role("button", name=re.compile(r"^Send to \d+ now")).click()
    expect(page.get_by_text("Sending started.")).to_be_visible()
    # The worker sends the two test shares; the page counts them once it is reloaded, beside those waiting.
    rows = report.locator("tbody tr")
    for _ in range(60):
        page.reload()
        sent = [int(rows.nth(i).locator("td").nth(1).inner_text()) for i in range(2)]
        waiting = int(re.sub(r"\D.*", "", page.locator("#ab-decision").inner_text().strip()) or 0)
        if sum(sent) + waiting == PEOPLE:
            break
        page.wait_for_timeout(500)
    tested = sum(sent)
    assert 0 < tested < PEOPLE
    first = _subjects(site, tested)
    assert sorted(set(first)) == sorted({SUBJECT_A, SUBJECT_B})
    assert first.count(SUBJECT_B) == sent[1]
    expect(page.locator("#ab-decision")).to_contain_text(
        f"{PEOPLE - tested} deliveries wait for the winner you pick"
    )

    page.get_by_role("button", name="Send B to the rest").click()
    expect(page.get_by_text("Variant B goes to the rest of the audience.")).to_be_visible()
    everyone = _subjects(site, PEOPLE)
    assert everyone[tested:] == [SUBJECT_B] * (PEOPLE - tested)
    page.reload()
    expect(page.locator("#ab-decision")).to_contain_text("Variant B won on")
    expect(report.locator("tr.winner th")).to_contain_text("B")
    assert violations == []
