"""Rights exercised between a campaign's launch and its sending, through real `worker.py` processes."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from sender.models import Delivery, ListMember
from sender.services.consent.links import portal_token
from tests.campaign_helpers import grant
from tests.e2e.conftest import Stack
from tests.factories import ContactFactory, ListFactory, PurposeFactory, WordingFactory

pytestmark = pytest.mark.e2e
TOKEN = re.compile(r'name="token" value="([^"]+)"')


def _launch(stack: Stack, *emails: str) -> tuple[int, dict[str, int]]:
    """A launched (queued, not yet sent) campaign to these granted people; returns its id and their ids."""
    purpose = PurposeFactory(slug="news")
    WordingFactory(purpose=purpose)
    members = ListFactory()
    ids = {}
    for email in emails:
        contact = ContactFactory(email=email, first_name="Camille")
        grant(stack.session, contact, purpose)
        stack.session.add(ListMember(list_id=members.id, contact_id=contact.id))
        ids[email] = contact.id
    stack.session.commit()
    created = stack.api("POST", "/campaigns", {
        "name": "News", "purpose": "news", "lists": [members.id], "subject": "Hello {{ contact.first_name }}",
        "body_text": "Hello {{ contact.first_name }}",
    })  # fmt: skip
    campaign_id = created.get_json()["id"]
    assert stack.api("POST", f"/campaigns/{campaign_id}/send").get_json()["queued"] == len(emails)
    return campaign_id, ids


def _portal_action(stack: Stack, contact_id: int, action: str, **fields: str) -> str:
    """Open the portal of a contact and submit one action; returns the page."""
    from sender.models import Contact

    contact = stack.session.get(Contact, contact_id)
    assert contact is not None
    stack.session.commit()
    landing = stack.client.get(f"/p/{portal_token(stack.runtime.tokens, contact.public_id)}").get_data(
        as_text=True
    )
    response = stack.client.post(
        "/portal", data={"token": TOKEN.findall(landing)[0], "action": action, **fields}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def test_a_correction_made_after_launch_is_what_the_message_carries(stack: Stack) -> None:
    _, ids = _launch(stack, "camille@example.org")

    _portal_action(
        stack, ids["camille@example.org"], "rectify", first_name="Camila", email="camila@example.org"
    )
    stack.worker()

    # The name is corrected at once; the new address only once confirmed from it, so the campaign
    # still reaches the old one, and the new one receives only its confirmation link.
    (received,) = [m for m in stack.mail.messages if m.rcpt_tos == ["camille@example.org"]]
    (asked,) = [m for m in stack.mail.messages if m.rcpt_tos == ["camila@example.org"]]
    assert "/address/" in asked.message().get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert received.message()["Subject"] == "Hello Camila"


def test_erasure_after_launch_skips_the_queued_message(stack: Stack) -> None:
    campaign_id, ids = _launch(stack, "gone@example.org", "stays@example.org")

    page = _portal_action(stack, ids["gone@example.org"], "erase", confirm="yes")
    assert "Rien n'est encore effacé" in page
    stack.worker("--queues", "default")  # the confirmation link only; the campaign waits
    (asked,) = stack.mail.messages
    assert asked.rcpt_tos == ["gone@example.org"]
    body = asked.message().get_body(("plain",)).get_content()  # type: ignore[union-attr]
    link = re.search(r"https://sender\.test(/erase/\S+)", body)
    assert link is not None
    assert "Vos données sont effacées" in stack.client.post(link.group(1)).get_data(as_text=True)
    (notice,) = stack.mail.messages[1:]  # sent before the address was forgotten
    assert notice.rcpt_tos == ["gone@example.org"]
    stack.worker()

    assert [m.rcpt_tos for m in stack.mail.messages[2:]] == [["stays@example.org"]]
    stack.session.expire_all()
    rows = stack.session.execute(
        select(Delivery.contact_id, Delivery.status, Delivery.reason).where(
            Delivery.campaign_id == campaign_id
        )
    ).all()
    assert {(r.contact_id, r.status, r.reason) for r in rows} == {
        (ids["gone@example.org"], "skipped", "erased"), (ids["stays@example.org"], "sent", None),
    }  # fmt: skip
    stack.session.commit()
