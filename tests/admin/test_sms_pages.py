"""SMS in the staff pages: composing an SMS campaign, the segment counter (the API's own count), the SMS
text and deferred deliveries on the campaign page, and the keyword history on the contact page."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.models import Campaign, Delivery
from sender.runtime import Runtime
from sender.services.accounts import users
from sender.services.consent import sms_replies
from tests.admin.conftest import post
from tests.campaign_helpers import grant
from tests.factories import CampaignFactory, ContactFactory, ListFactory, PurposeFactory, WordingFactory

ClientAs = Callable[[str], FlaskClient]
PHONE = "+33612345678"
# The test deployment's mentions are the sender's name alone: "\nExemple SAS", 12 characters.
MENTIONS = "\nExemple SAS"


def _sms_form(purpose_slug: str, list_id: int, body: str) -> dict[str, Any]:
    return {
        "name": "Flash sale",
        "channel": "sms",
        "purpose": purpose_slug,
        "kind": "marketing",
        "lists": [str(list_id)],
        # Left over from an email draft: an SMS keeps only its text.
        "subject": "ignored",
        "body_format": "html",
        "body_source": "<p>ignored</p>",
        "body_text": body,
    }


def test_composing_an_sms_campaign_creates_it_without_subject_and_shows_its_text(
    client_as: ClientAs, db_session: Session
) -> None:
    PurposeFactory(slug="news")
    lst = ListFactory()
    client = client_as("marketer")
    form = client.get("/admin/campaigns/new").get_data(as_text=True)
    assert '<option value="sms">SMS</option>' in form
    assert "admin/sms.js" in form
    response = post(client, "/admin/campaigns/new", _sms_form("news", lst.id, "Soldes -50 % ce week-end"))
    assert response.status_code == 302, response.get_data(as_text=True)
    campaign = db_session.scalars(select(Campaign)).one()
    assert (campaign.channel, campaign.subject, campaign.body_html) == ("sms", "", "")
    assert campaign.body_text == "Soldes -50 % ce week-end"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f'<pre class="source sms-text">Soldes -50 % ce week-end{MENTIONS}</pre>' in page
    assert "GSM-7" in page
    # No email preview frame nor email test send for an SMS.
    assert "message.html" not in page
    # Editing the draft keeps SMS chosen and renders the counter without JavaScript.
    edit = client.get(f"/admin/campaigns/{campaign.id}/edit").get_data(as_text=True)
    assert '<option selected value="sms">SMS</option>' in edit
    assert '<strong id="sms-characters">36</strong>' in edit
    assert '<strong id="sms-segments">1</strong>' in edit
    assert '<div class="email-only" hidden>' in edit
    assert '<div class="sms-only">' in edit


def test_the_sms_composer_hides_every_email_only_block_and_the_email_composer_none(
    client_as: ClientAs, db_session: Session
) -> None:
    PurposeFactory(slug="news")
    lst = ListFactory()
    client = client_as("marketer")
    assert post(client, "/admin/campaigns/new", _sms_form("news", lst.id, "Soldes")).status_code == 302
    sms = db_session.scalars(select(Campaign)).one()
    edit = client.get(f"/admin/campaigns/{sms.id}/edit").get_data(as_text=True)
    blank = client.get("/admin/campaigns/new").get_data(as_text=True)

    # Subject, tracking, body, layout and live preview: five blocks the page hides for SMS only.
    assert len(re.findall(r'class="email-only"[^>]*hidden', edit)) == 5
    assert not re.findall(r'class="email-only"[^>]*hidden', blank)
    # The script that toggles them on a change of channel is told which channels are text alone.
    for page in (edit, blank):
        named = re.findall(r'data-text-only="([^"]*)"', page)
        assert len(named) == 1 and "sms" in named[0].split() and "email" not in named[0].split()


def test_an_sms_body_that_is_empty_is_refused_at_its_field(client_as: ClientAs, db_session: Session) -> None:
    PurposeFactory(slug="news")
    lst = ListFactory()
    response = post(client_as("marketer"), "/admin/campaigns/new", _sms_form("news", lst.id, "  "))
    assert response.status_code == 422
    assert 'id="body_text-error">is required' in response.get_data(as_text=True)
    assert db_session.scalars(select(Campaign)).all() == []


@pytest.mark.parametrize(
    ("body", "characters", "encoding", "segments"),
    [
        ("a" * 148, 160, "GSM-7", 1),  # 160 with the mentions: one segment
        ("a" * 149, 161, "GSM-7", 2),
        ("é" + "a" * 147, 160, "GSM-7", 1),  # é is in the GSM-7 basic table
        ("a" * 147 + "€", 160, "GSM-7", 2),  # € is an extension character: two septets
        ("ê" + "a" * 57, 70, "UCS-2", 1),  # ê is not: the whole SMS is UCS-2, 70 per segment
        ("ê" + "a" * 58, 71, "UCS-2", 2),
        ("🎉" * 29, 41, "UCS-2", 1),  # an emoji is two UTF-16 units: 58 + 12 = 70
        ("🎉" * 30, 42, "UCS-2", 2),
    ],
)
def test_the_segment_counter_answers_as_the_api_preview(
    client_as: ClientAs,
    db_session: Session,
    staff: dict[str, Any],
    body: str,
    characters: int,
    encoding: str,
    segments: int,
) -> None:
    client = client_as("marketer")
    counted = post(client, "/admin/campaigns/sms-segments", {"kind": "marketing", "body_text": body})
    assert counted.status_code == 200
    got = counted.get_json()
    assert (got["characters"], got["encoding"], got["segments"]) == (characters, encoding, segments)
    assert got["texts"] == [body + MENTIONS]
    # The same text saved as a campaign: the API's preview says exactly the same.
    campaign = CampaignFactory(channel="sms", subject="", body_html="", body_text=body)
    token = users.issue_token(db_session, staff["admin"])
    db_session.commit()
    api = client.get(f"/api/v1/campaigns/{campaign.id}", headers={"Authorization": f"Bearer {token.value}"})
    assert api.status_code == 200
    assert api.get_json()["sms"] == {k: got[k] for k in ("messages", "encoding", "segments", "texts")}


def test_the_segment_counter_needs_the_csrf_token_and_reports_template_errors(
    client_as: ClientAs,
) -> None:
    client = client_as("marketer")
    assert client.post("/admin/campaigns/sms-segments", data={"body_text": "Hi"}).status_code == 400
    bad = post(client, "/admin/campaigns/sms-segments", {"body_text": "Hi {{ contact.first_name"})
    assert bad.status_code == 422
    assert "body_text" in bad.get_json()["errors"]


def test_a_legal_notice_counts_no_stop_instruction(client_as: ClientAs, runtime: Runtime) -> None:
    # With a STOP text configured, marketing carries it and a legal notice does not.
    runtime.settings = runtime.settings.with_overrides(
        sms=dataclasses.replace(runtime.settings.sms, stop_text="STOP au 36123")
    )
    client = client_as("marketer")
    marketing = post(client, "/admin/campaigns/sms-segments", {"kind": "marketing", "body_text": "Hi"})
    notice = post(client, "/admin/campaigns/sms-segments", {"kind": "legal_notice", "body_text": "Hi"})
    assert marketing.get_json()["texts"] == ["Hi\nExemple SAS\nSTOP au 36123"]
    assert notice.get_json()["texts"] == ["Hi\nExemple SAS"]


def test_the_campaign_page_lists_deliveries_deferred_by_quiet_hours(
    client_as: ClientAs, db_session: Session
) -> None:
    campaign = CampaignFactory(channel="sms", subject="", body_html="", body_text="Hi", status="sending")
    slot = datetime(2099, 1, 2, 7, 0)
    for _ in range(2):
        db_session.add(
            Delivery(
                campaign_id=campaign.id,
                contact_id=ContactFactory(phone=None).id,
                status="deferred",
                reason="quiet_hours",
                not_before=slot,
            )
        )
    db_session.commit()
    page = client_as("dpo").get(f"/admin/campaigns/{campaign.id}").get_data(as_text=True)
    assert "Deferred by quiet hours" in page
    # The organisation's time zone (Europe/Paris): 07:00 UTC is 08:00 local.
    assert "<tr><td>2099-01-02 08:00 CET</td><td>2</td></tr>" in page


def test_the_contact_page_shows_sms_consent_and_the_keyword_history(
    client_as: ClientAs, db_session: Session, runtime: Runtime
) -> None:
    purpose = PurposeFactory(name="Offers")
    WordingFactory(purpose=purpose)
    contact = ContactFactory(phone=PHONE)
    grant(db_session, contact, purpose, channel="sms")
    db_session.commit()
    page = client_as("dpo").get(f"/admin/contacts/{contact.public_id}").get_data(as_text=True)
    assert '<th scope="col">SMS</th>' in page
    assert "No SMS reply from this person." in page
    sms_replies.handle_reply(
        db_session, runtime.settings, message_sid="SM" + "1" * 32, sender=PHONE, to="36123", body="STOP"
    )
    db_session.commit()
    page = client_as("dpo").get(f"/admin/contacts/{contact.public_id}").get_data(as_text=True)
    history = page.split('id="sms-replies"')[1].split('id="deliveries"')[0]
    assert "<td>STOP</td>" in history
    assert "<td>Opt-out (STOP)</td>" in history
    assert '<span class="badge">Consent withdrawn</span>' in history
    # The withdrawal shows in the consent grid, SMS column.
    assert '<span class="badge withdrawn">Consent withdrawn</span>' in page.split('id="consent"')[1]
