"""Click and open tracking from the API to the SMTP wire and back through the real redirect endpoint.

Two people consent to the newsletter; one of them also to tracking. Nothing in the other's message names
her; the tracked person's click counts once and moves her retention clock; scanners count nothing; a
forged or foreign link is refused and records nothing; the unsubscribe link is never rewritten.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import func, select, update

from sender.db import utcnow
from sender.enums import EngagementClass
from sender.models import CampaignLink, Contact, Delivery, EngagementEvent, ListMember, Purpose
from sender.services.consent.links import read_unsubscribe
from sender.services.engagement import figures
from sender.tokens import TokenInvalid
from tests.campaign_helpers import grant
from tests.factories import ContactFactory, ListFactory, PurposeFactory, WordingFactory

pytestmark = pytest.mark.e2e

BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
TARGETS = ("https://shop.example/a", "https://shop.example/b?x=1&y=2")
BODY = {
    "name": "Tracked news",
    "subject": "News",
    "body_text": f"Shop: {TARGETS[0]}\nSale: {TARGETS[1]}\n",
    "body_html": f'<p><a href="{TARGETS[0]}">Shop</a> <a href="{TARGETS[1].replace("&", "&amp;")}">Sale</a></p>',
    "tracking_mode": "per_person",
}
TRACKED = re.compile(r"https://sender\.test/r/(?!o/)([A-Za-z0-9_.-]+)")
UNSUBSCRIBE = re.compile(r"https://sender\.test/u/([A-Za-z0-9_.-]+)")
PIXEL = re.compile(r"https://sender\.test/r/o/([A-Za-z0-9_.-]+)")


@dataclass(frozen=True)
class Person:
    """A contact as the test remembers it."""

    id: int
    email: str


def _arrange(stack):
    """A newsletter purpose, a tracking purpose, and three people: one tracked, two not."""
    news = PurposeFactory()
    WordingFactory(purpose=news)
    tracking = PurposeFactory(kind="tracking")
    WordingFactory(purpose=tracking)
    lst = ListFactory()
    people = {name: ContactFactory(first_name=name) for name in ("Ana", "Bea", "Cyd")}
    for person in people.values():
        grant(stack.session, person, news)
        stack.session.add(ListMember(list_id=lst.id, contact_id=person.id))
    grant(stack.session, people["Ana"], tracking)
    stack.session.commit()
    # Plain values: reading an expired object later would open a transaction (on SQLite, the write lock).
    people = {name: Person(person.id, person.email) for name, person in people.items()}
    return news.slug, lst.id, people, news.id, tracking.id


def _send(stack, news, lst, **extra):
    created = stack.api("POST", "/campaigns", {**BODY, **extra, "purpose": news, "lists": [lst]})
    assert created.status_code == 201, created.get_json()
    campaign_id = created.get_json()["id"]
    assert created.get_json()["tracking_mode"] == extra.get("tracking_mode", "per_person")
    assert stack.api("POST", f"/campaigns/{campaign_id}/send").status_code == 202
    stack.worker()
    return campaign_id


def _messages(stack, people):
    by_name = {}
    for received in stack.mail.messages:
        message = received.message()
        for name, person in people.items():
            if person.email in message["To"]:
                by_name[name] = message
    return by_name


def _parts(message):
    return message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()


def _payloads(stack, urls):
    return [stack.runtime.tokens.loads("click", token) for token in urls]


def _events(stack, campaign_id):
    stack.session.expire_all()
    count = stack.session.scalar(
        select(func.count()).select_from(EngagementEvent).where(EngagementEvent.campaign_id == campaign_id)
    )
    stack.session.commit()
    return count


def _visit(stack, path, user_agent=BROWSER, method="GET"):
    """Follow a link as a mail client would: the answer's status and Location, the response closed."""
    with stack.client.open(path, method=method, headers={"User-Agent": user_agent}) as answer:
        return answer.status_code, answer.headers.get("Location")


def _clock(stack, person):
    """The person's retention clock (last interaction), read in a transaction of its own."""
    stack.session.expire_all()
    at = stack.session.get(Contact, person.id).last_interaction_at
    stack.session.commit()
    return at


def _sent_at(stack, campaign_id, ago):
    """The tests' clock: the messages left `ago` before now (however slow the machine that sent them)."""
    stack.session.execute(
        update(Delivery).where(Delivery.campaign_id == campaign_id).values(sent_at=utcnow() - ago)
    )
    stack.session.commit()


def test_tracking_follows_consent_counts_people_once_and_refuses_forgeries(stack):
    news, lst, people, news_id, tracking_id = _arrange(stack)
    campaign_id = _send(stack, news, lst)
    messages = _messages(stack, people)
    assert set(messages) == {"Ana", "Bea", "Cyd"}

    # Without tracking consent: no pixel, no per-person link, the same links as anyone else without it.
    bea_text, bea_html = _parts(messages["Bea"])
    cyd_text, cyd_html = _parts(messages["Cyd"])
    for text, html in ((bea_text, bea_html), (cyd_text, cyd_html)):
        assert not PIXEL.search(html) and "<img" not in html
        assert all("d" not in payload for payload in _payloads(stack, TRACKED.findall(html + text)))
        assert TARGETS[0] not in text + html
    assert sorted(TRACKED.findall(bea_html)) == sorted(TRACKED.findall(cyd_html))
    assert sorted(TRACKED.findall(bea_text)) == sorted(TRACKED.findall(cyd_text))

    # With it: per-delivery links in both parts, the pixel, the link to withdraw tracking.
    ana_text, ana_html = _parts(messages["Ana"])
    ana_links = TRACKED.findall(unescape(ana_html))
    assert len(ana_links) == 2 and len(TRACKED.findall(ana_text)) == 2
    ana_delivery = stack.session.scalar(
        select(Delivery.id).where(
            Delivery.campaign_id == campaign_id, Delivery.contact_id == people["Ana"].id
        )
    )
    stack.session.commit()  # end the read: on SQLite an open transaction holds the write lock
    assert {p["d"] for p in _payloads(stack, ana_links)} == {ana_delivery}
    assert PIXEL.search(ana_html)
    # The withdrawal of tracking is the one-click unsubscribe of the tracking purpose, in both parts.
    named = {read_unsubscribe(stack.runtime.tokens, t).purpose_id for t in UNSUBSCRIBE.findall(ana_html)}
    assert named == {news_id, tracking_id}
    assert len(set(UNSUBSCRIBE.findall(ana_text))) == 2
    assert len(set(UNSUBSCRIBE.findall(bea_text))) == 1

    # The unsubscribe link is untouched in every message.
    for message in messages.values():
        (unsubscribe,) = re.findall(r"<(https://[^>]+)>", message["List-Unsubscribe"])
        text, html = _parts(message)
        assert unsubscribe.startswith("https://sender.test/u/")
        assert unsubscribe in text and f'href="{unsubscribe}"' in html

    # A click right after delivery is a scanner's: recorded apart, the clock does not move.
    granted_clock = _clock(stack, people["Ana"])
    _sent_at(stack, campaign_id, timedelta(0))
    assert _visit(stack, f"/r/{ana_links[0]}") == (302, TARGETS[0])
    assert _clock(stack, people["Ana"]) == granted_clock
    assert figures.unique_clicks(stack.session, campaign_id) == 0
    assert figures.scanner_clicks(stack.session, campaign_id) == 1
    stack.session.commit()

    # Later, Ana clicks twice: one unique click, and her retention clock moves.
    _sent_at(stack, campaign_id, timedelta(minutes=1))
    for _ in range(2):
        assert _visit(stack, f"/r/{ana_links[1]}") == (302, TARGETS[1])
    assert _clock(stack, people["Ana"]) > granted_clock
    assert figures.clicks(stack.session, campaign_id) == 2
    assert figures.unique_clicks(stack.session, campaign_id) == 1
    personal = stack.session.scalars(
        select(EngagementEvent.delivery_id).where(
            EngagementEvent.campaign_id == campaign_id,
            EngagementEvent.classification == EngagementClass.HUMAN,
        )
    ).all()
    assert personal == [ana_delivery, ana_delivery]
    stack.session.commit()

    # A scanner follows every aggregate link of Bea's message at once: nothing counts.
    before = figures.clicks(stack.session, campaign_id)
    stack.session.commit()
    for token in TRACKED.findall(unescape(bea_html)):
        assert _visit(stack, f"/r/{token}")[0] == 302
    assert _visit(stack, f"/r/{ana_links[0]}", method="HEAD")[0] == 302
    assert figures.clicks(stack.session, campaign_id) == before
    assert figures.unique_clicks(stack.session, campaign_id) == 1
    assert figures.scanner_clicks(stack.session, campaign_id) == 4
    stack.session.commit()

    # Opens: a mail client's counts, Apple's privacy proxy is a machine open; neither moves the clock.
    (pixel,) = PIXEL.findall(ana_html)
    clock = _clock(stack, people["Ana"])
    assert _visit(stack, f"/r/o/{pixel}")[0] == 200
    assert _visit(stack, f"/r/o/{pixel}", "Mozilla/5.0")[0] == 200
    assert figures.opens(stack.session, campaign_id) == figures.OpenFigures(opens=1, unique=1, machine=1)
    stack.session.commit()
    assert _clock(stack, people["Ana"]) == clock

    # Forged and foreign links: 404, nothing recorded.
    recorded = _events(stack, campaign_id)
    other = _send(stack, news, lst, name="Another", tracking_mode="aggregate")
    other_link = stack.session.scalar(select(CampaignLink.id).where(CampaignLink.campaign_id == other))
    stack.session.commit()
    foreign = stack.runtime.tokens.dumps("click", {"l": other_link, "d": ana_delivery})
    forged = ana_links[0][:-3] + ("AAA" if not ana_links[0].endswith("AAA") else "BBB")
    with pytest.raises(TokenInvalid):
        stack.runtime.tokens.loads("click", forged)
    for token in (forged, foreign, "not-a-token", stack.runtime.tokens.dumps("click", {"l": 10**9})):
        assert _visit(stack, f"/r/{token}")[0] == 404
    assert _visit(stack, f"/r/o/{forged}")[0] == 404
    assert _events(stack, campaign_id) == recorded
    assert _events(stack, other) == 0


def test_untracked_campaign_sends_links_straight(stack):
    news, lst, people, _, _ = _arrange(stack)
    _send(stack, news, lst, tracking_mode="off")
    for message in _messages(stack, people).values():
        text, html = _parts(message)
        assert TARGETS[0] in text and TARGETS[0] in html
        assert "/r/" not in text + html and "<img" not in html


def test_a_click_after_tracking_consent_is_withdrawn_names_no_one(stack):
    news, lst, people, _, tracking_id = _arrange(stack)
    campaign_id = _send(stack, news, lst)
    ana_links = TRACKED.findall(unescape(_parts(_messages(stack, people)["Ana"])[1]))
    _sent_at(stack, campaign_id, timedelta(minutes=1))
    contact = stack.session.get(Contact, people["Ana"].id)
    public_id, tracking_slug = contact.public_id, stack.session.get(Purpose, tracking_id).slug
    stack.session.commit()
    withdrawal = {
        "purpose": tracking_slug,
        "channel": "email",
        "action": "withdraw",
        "mechanism": "email_request",
    }
    answer = stack.api("POST", f"/contacts/{public_id}/consents", withdrawal)
    assert answer.status_code in (200, 201), answer.get_json()
    clock = _clock(stack, people["Ana"])

    # Her own link still leads on, and the click counts, but names her delivery no more nor moves her clock.
    assert _visit(stack, f"/r/{ana_links[0]}") == (302, TARGETS[0])
    assert figures.clicks(stack.session, campaign_id) == 1
    named = stack.session.scalars(
        select(EngagementEvent.delivery_id).where(EngagementEvent.campaign_id == campaign_id)
    ).all()
    stack.session.commit()
    assert named == [None]
    assert _clock(stack, people["Ana"]) == clock


def test_two_readers_behind_one_address_are_not_a_burst(stack):
    news, lst, people, _, _ = _arrange(stack)
    campaign_id = _send(stack, news, lst)
    bea_links = TRACKED.findall(unescape(_parts(_messages(stack, people)["Bea"])[1]))
    _sent_at(stack, campaign_id, timedelta(minutes=1))
    # One browser follows the first link, another browser the second: two visitors, each on one link.
    assert _visit(stack, f"/r/{bea_links[0]}")[0] == 302
    assert _visit(stack, f"/r/{bea_links[1]}", BROWSER.replace("128.0", "129.0"))[0] == 302
    assert figures.scanner_clicks(stack.session, campaign_id) == 0
    assert figures.unique_clicks(stack.session, campaign_id) == 2
    stack.session.commit()
    # The first browser then follows the second link within the window: every link of the message at once.
    assert _visit(stack, f"/r/{bea_links[1]}")[0] == 302
    assert figures.scanner_clicks(stack.session, campaign_id) == 2
    assert figures.clicks(stack.session, campaign_id) == 1
    stack.session.commit()
