"""The staff pages on a 390 px phone: the navigation folds behind "Menu" and nothing makes the page scroll
sideways (wide tables scroll inside their own box)."""

from __future__ import annotations

from typing import Any

import pytest

from sender.models import Campaign, ContactList, Delivery, ListMember
from sender.services.accounts import users
from tests import factories
from tests.browser.conftest import Site
from tests.campaign_helpers import grant
from tests.factories import ContactFactory, PurposeFactory, WordingFactory

pytestmark = [pytest.mark.browser, pytest.mark.e2e]
PASSWORD = "correct horse battery staple"
PHONE = {"width": 390, "height": 844}
# The folded header: the brand and the Menu button on one line.
HEADER_LIMIT = 80


def _seed(site: Site) -> dict[str, str]:
    """An admin, and enough data that every main page has full tables with long values."""
    session = site.runtime.Session()
    factories.bind(session)
    users.create_user(session, "administrator.with.a.long.address@exemple.org", "admin", PASSWORD)
    purpose = PurposeFactory(slug="newsletter-of-the-lyon-shop", name="Monthly newsletter of the Lyon shop")
    WordingFactory(purpose=purpose, text="Yes, send me the monthly newsletter of the Lyon shop by email.")
    members = ContactList(name="Customers of the last two years", description="Bought online or in a shop")
    session.add(members)
    session.flush()
    people = [
        ContactFactory(email=f"person.with.a.rather.long.name.{n}@subdomain.exemple.org", first_name="Jeanne")
        for n in range(3)
    ]
    for person in people:
        grant(session, person, purpose)
        session.add(ListMember(list_id=members.id, contact_id=person.id))
    campaign = Campaign(name="November news of the Lyon shop", purpose_id=purpose.id, channel="email",
                        subject="News", body_text="Hello", status="sent", lists=[members])  # fmt: skip
    session.add(campaign)
    session.flush()
    for person in people:
        session.add(
            Delivery(campaign_id=campaign.id, contact_id=person.id, status="skipped", reason="no_consent")
        )
    session.commit()
    ids = {"contact": people[0].public_id, "campaign": str(campaign.id), "list": str(members.id)}
    session.close()
    return ids


def test_staff_pages_fit_a_phone(site: Site, page: Any) -> None:
    ids = _seed(site)
    page.set_viewport_size(PHONE)
    page.goto("/admin/signin")
    page.get_by_label("Email").fill("administrator.with.a.long.address@exemple.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/admin/")
    pages = [
        "/admin/",
        "/admin/contacts",
        f"/admin/contacts/{ids['contact']}",
        "/admin/imports",
        "/admin/lists",
        f"/admin/lists/{ids['list']}",
        "/admin/campaigns",
        f"/admin/campaigns/{ids['campaign']}",
        f"/admin/campaigns/{ids['campaign']}/edit",
        "/admin/campaigns/new",
        "/admin/requalification",
        "/admin/purposes",
        "/admin/organisation",
        "/admin/staff",
    ]
    overflowing = {}
    for url in pages:
        page.goto(url)
        sizes = page.evaluate(
            "() => [document.documentElement.scrollWidth, window.innerWidth,"
            " document.querySelector('header.top').getBoundingClientRect().height]"
        )
        if sizes[0] > sizes[1] or sizes[2] > HEADER_LIMIT:
            overflowing[url] = sizes
    assert overflowing == {}, "scrollWidth, innerWidth, header height per page"

    # The folded navigation still leads everywhere.
    assert not page.get_by_role("link", name="Campaigns").is_visible()
    page.get_by_text("Menu").click()
    page.get_by_role("link", name="Campaigns").click()
    page.wait_for_url("**/admin/campaigns")
    assert page.get_by_role("heading", name="Campaigns").is_visible()


def test_wide_screens_show_the_navigation_without_a_menu_button(site: Site, page: Any) -> None:
    _seed(site)
    page.goto("/admin/signin")
    page.get_by_label("Email").fill("administrator.with.a.long.address@exemple.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/admin/")
    assert page.get_by_role("link", name="Campaigns").is_visible()
    assert not page.get_by_text("Menu", exact=True).is_visible()
