"""The charts of the campaign report and the dashboard in a real browser: drawn, allowed by the staff CSP, and
their tables saying what really happened (messages sent by the worker to SMTP, an unsubscribe made through
the message's own link)."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from html import unescape
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
LINKS = ("https://shop.example/coats", "https://shop.example/boots", "https://shop.example/hats")
BODY_HTML = "<p>" + " ".join(f'<a href="{url}">{url[20:]}</a>' for url in LINKS) + "</p>"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _click(url: str, agent: str) -> int:
    """Follow a tracked link as a person's browser would, stopping at the redirect it answers."""
    opener = urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(url, headers={"User-Agent": agent})
    try:
        with opener.open(request) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as redirected:
        return redirected.code


def _table(page: Any, caption: str) -> dict[str, list[str]]:
    """A chart's table: each row's label and its figures."""
    table = page.locator("figure table", has=page.locator("caption", has_text=caption))
    rows: dict[str, list[str]] = {}
    for row in table.locator("tbody tr").all():
        rows[row.locator("th").inner_text().strip()] = [
            c.strip() for c in row.locator("td").all_inner_texts()
        ]
    return rows


def test_report_and_dashboard_charts(site: Site, page: Any) -> None:
    session = site.runtime.Session()
    factories.bind(session)
    users.create_user(session, "marketer@exemple.org", "marketer", PASSWORD)
    purpose = PurposeFactory(slug="news", name="News")
    WordingFactory(purpose=purpose)
    lst = ContactList(name="Customers", description="")
    session.add(lst)
    session.flush()
    granted = [ContactFactory(email=f"reader{i}@example.org") for i in range(3)]
    refused = ContactFactory(email="nobody@example.org")
    for contact in granted:
        grant(session, contact, purpose)
    for contact in [*granted, refused]:
        session.add(ListMember(list_id=lst.id, contact_id=contact.id))
    campaign = CampaignFactory(
        name="Winter", purpose_id=purpose.id, lists=[lst], body_html=BODY_HTML, tracking_mode="aggregate"
    )
    session.commit()
    campaign_id = campaign.id
    session.close()

    violations = watch_csp(page)
    sign_in(page, "marketer@exemple.org", PASSWORD)

    page.goto(f"/admin/campaigns/{campaign_id}")
    page.get_by_role("link", name="Send now…").click()
    page.get_by_role("button", name="Send to 3 now (e-mail)").click()
    page.wait_for_selector("text=Sending started.")
    received = site.mail.wait_for(3)
    # One reader leaves through the message's own List-Unsubscribe link.
    link = re.search(r"<(http[^>]+/u/[^>]+)>", str(received[0].message()["List-Unsubscribe"]))
    assert link is not None
    page.goto(link.group(1))
    page.get_by_role("button", name=re.compile("News")).click()
    # Three people click through the real redirect endpoint: two on the first link (one of them twice),
    # one on the second; nobody on the third. Each is a visitor of its own (its own browser).
    html = unescape(received[0].message().get_body(("html",)).get_content())
    tracked = re.findall(r'href="(http[^"]+/r/(?!o/)[^"]+)"', html)
    assert len(tracked) == 3
    for agent, index in ((1, 0), (1, 0), (2, 0), (3, 1)):
        assert (
            _click(tracked[index], f"Mozilla/5.0 (X11; Linux x86_64; rv:12{agent}.0) Firefox/12{agent}.0")
            == 302
        )

    page.goto(f"/admin/campaigns/{campaign_id}")
    expect(page.locator("[data-progress-label]")).to_have_text(re.compile(r"^100 %"), timeout=60_000)
    page.reload()
    charts = page.locator("#report-charts figure")
    expect(charts.first).to_be_visible()
    assert page.locator("#report-charts svg.pygal-chart").count() >= 3
    # The drawing has its size from charts.css and admin.css, not from blocked inline styles.
    box = page.locator("#report-charts svg.pygal-chart").first.bounding_box()
    assert box is not None and box["width"] > 200 and box["height"] > 80
    outcomes = _table(page, "Deliveries by outcome")
    assert outcomes == {"Message sent": ["3"], "Skipped": ["1"]}
    per_moment = _table(page, "Messages sent per")
    assert sum(int(v[0]) for v in per_moment.values()) == 3
    assert _table(page, "Bounces, complaints and unsubscribes")["Unsubscribes"] == ["1"]
    assert _table(page, "Clicks per link") == {
        LINKS[0]: ["3", "2"],
        LINKS[1]: ["1", "1"],
        LINKS[2]: ["0", "0"],
    }
    assert [v for v in _table(page, "Unique clicks per day").values()] == [["3"]]

    page.goto("/admin/")
    expect(page.locator("#dashboard-charts figure").first).to_be_visible()
    assert page.locator("#dashboard-charts svg.pygal-chart").count() == 4
    per_day = _table(page, "Messages sent per day")
    assert sum(int(v[0]) for v in per_day.values()) == 3
    rates = _table(page, "Unsubscribe rate per campaign (%)")
    assert rates == {"Winter": ["33.33"]}
    consents = _table(page, "Consents granted and withdrawn per week")
    assert sum(int(v[0]) for v in consents.values()) == 3  # News: granted
    assert sum(int(v[1]) for v in consents.values()) == 1  # News: withdrawn
    assert violations == []
