"""Campaign rough edges (issue 16): "Send now" asks for a confirmation that states the audience and its
channel; a scheduled campaign can be edited (it returns to draft through the state machine); a
requalification cycle shows its own state in the campaign list, not "sent 100 %"."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sender.db import utcnow
from sender.models import Delivery, Requalification, RequalificationAsk
from sender.runtime import Runtime
from sender.services.campaigns import launch
from tests.admin.conftest import post
from tests.campaign_helpers import build_audience
from tests.factories import CampaignFactory, ContactFactory, ListFactory, PurposeFactory

ClientAs = Callable[[str], FlaskClient]


def _deliveries(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Delivery)) or 0


def test_send_now_asks_for_a_confirmation_stating_the_audience(
    client_as: ClientAs, db_session: Session, redis_conn: Any
) -> None:
    audience = build_audience(db_session, eligible=3)
    campaign = CampaignFactory(purpose_id=audience.purpose.id, lists=[audience.lst])
    db_session.commit()
    client = client_as("marketer")
    page = f"/admin/campaigns/{campaign.id}"
    detail = client.get(page).get_data(as_text=True)
    # The detail page's "Send now" leads to the confirmation; it sends nothing by itself.
    assert f'href="{page}/send"' in detail
    confirm = client.get(f"{page}/send")
    assert confirm.status_code == 200
    body = confirm.get_data(as_text=True)
    assert "Would receive it by e-mail now:" in body
    assert '<strong id="audience-count">3</strong>' in body
    assert "no_consent" in body and "withdrawn" in body
    assert "Send to 3 now (e-mail)" in body
    assert _deliveries(db_session) == 0
    # A POST without the confirmation (a replayed or forged button) shows the same page and sends nothing.
    unconfirmed = post(client, f"{page}/send", token_page=page)
    assert unconfirmed.status_code == 200
    assert '<strong id="audience-count">3</strong>' in unconfirmed.get_data(as_text=True)
    db_session.refresh(campaign)
    assert campaign.status == "draft" and _deliveries(db_session) == 0
    sent = post(client, f"{page}/send", {"confirm": "yes"}, token_page=page)
    assert sent.status_code == 303
    db_session.refresh(campaign)
    assert campaign.status == "sending"
    assert "Sending started." in client.get(sent.headers["Location"]).get_data(as_text=True)
    # Once launched there is nothing left to confirm.
    again = client.get(f"{page}/send")
    assert again.status_code == 303
    assert "Only a draft or a scheduled campaign can be sent." in client.get(page).get_data(as_text=True)


def test_the_confirmation_names_the_campaign_channel(client_as: ClientAs, db_session: Session) -> None:
    purpose = PurposeFactory()
    lst = ListFactory()
    texted = CampaignFactory(purpose_id=purpose.id, lists=[lst], channel="sms", subject="", body_html="")
    db_session.commit()
    body = client_as("admin").get(f"/admin/campaigns/{texted.id}/send").get_data(as_text=True)
    assert "Would receive it by SMS now:" in body
    assert "Send to 0 now (SMS)" in body


def test_the_confirmation_of_a_scheduled_campaign_says_it_goes_now_instead(
    client_as: ClientAs, db_session: Session, redis_conn: Any
) -> None:
    campaign = CampaignFactory(purpose_id=PurposeFactory().id, lists=[ListFactory()])
    db_session.commit()
    client = client_as("marketer")
    page = f"/admin/campaigns/{campaign.id}"
    post(client, f"{page}/schedule", {"when": "2099-07-01T09:00"}, token_page=page)
    body = client.get(f"{page}/send").get_data(as_text=True)
    assert "It is scheduled for 2099-07-01 09:00 CEST: sending now launches it at once instead." in body
    assert '<strong id="audience-count">0</strong>' in body
    assert client_as("dpo").get(f"{page}/send").status_code == 403


def test_a_scheduled_campaign_can_be_edited_and_returns_to_draft(
    client_as: ClientAs, db_session: Session, runtime: Runtime, redis_conn: Any
) -> None:
    purpose = PurposeFactory(slug="news")
    lst = ListFactory()
    campaign = CampaignFactory(purpose_id=purpose.id, lists=[lst])
    db_session.commit()
    client = client_as("marketer")
    page = f"/admin/campaigns/{campaign.id}"
    assert post(client, f"{page}/schedule", {"when": "2099-07-01T09:00"}, token_page=page).status_code == 303
    db_session.refresh(campaign)
    assert campaign.status == "scheduled"
    assert f'href="{page}/edit"' in client.get(page).get_data(as_text=True)
    form = client.get(f"{page}/edit")
    assert form.status_code == 200
    assert 'id="unschedule-notice"' in form.get_data(as_text=True)
    data = {
        "name": "Summer, fixed",
        "purpose": "news",
        "kind": "marketing",
        "lists": [str(lst.id)],
        "subject": "Summer is here, {{ contact.first_name }}",
        "body_text": "Hello {{ contact.first_name }}",
    }
    saved = post(client, f"{page}/edit", data, token_page=f"{page}/edit")
    assert saved.status_code == 302
    db_session.refresh(campaign)
    assert (campaign.status, campaign.scheduled_at, campaign.name) == ("draft", None, "Summer, fixed")
    shown = client.get(saved.headers["Location"]).get_data(as_text=True)
    assert "The campaign is a draft again (it was scheduled for 2099-07-01 09:00 CEST)" in shown
    # The launch job already waiting for the old time finds a draft and does nothing.
    assert launch.launch_scheduled(runtime, campaign.id) == "campaign is draft"
    db_session.refresh(campaign)
    assert campaign.status == "draft" and _deliveries(db_session) == 0


def test_a_launched_campaign_still_cannot_be_edited(client_as: ClientAs, db_session: Session) -> None:
    purpose = PurposeFactory(slug="news")
    lst = ListFactory()
    campaign = CampaignFactory(purpose_id=purpose.id, lists=[lst], status="sending")
    db_session.commit()
    name = campaign.name
    client = client_as("marketer")
    page = f"/admin/campaigns/{campaign.id}"
    refused = client.get(f"{page}/edit")
    assert refused.status_code == 302
    assert "Only a draft or a scheduled campaign can be edited." in client.get(page).get_data(as_text=True)
    data = {"name": "x", "purpose": "news", "kind": "marketing", "lists": [str(lst.id)], "body_text": "x"}
    assert post(client, f"{page}/edit", data, token_page=page).status_code == 302
    db_session.refresh(campaign)
    assert (campaign.status, campaign.name) == ("sending", name)


def test_an_open_requalification_cycle_shows_its_state_not_sent_100(
    client_as: ClientAs, db_session: Session
) -> None:
    purpose = PurposeFactory()
    # Every ask has left, so the campaign is "sent", but the cycle waits for answers until its deadline.
    cycle = CampaignFactory(purpose_id=purpose.id, kind="requalification", status="sent", name="Ask again")
    deadline = (utcnow() + timedelta(days=20)).replace(microsecond=0)
    db_session.add(
        Requalification(campaign_id=cycle.id, deadline=deadline, wording_version=1, approved_at=utcnow())
    )
    for status in ("asked", "asked", "confirmed"):
        contact = ContactFactory()
        db_session.add(
            RequalificationAsk(
                campaign_id=cycle.id,
                contact_id=contact.id,
                purpose_id=purpose.id,
                status=status,
                asked_at=utcnow(),
            )
        )
        db_session.add(Delivery(campaign_id=cycle.id, contact_id=contact.id, status="sent"))
    closed = CampaignFactory(purpose_id=purpose.id, kind="requalification", status="sent", name="Old ask")
    db_session.add(
        Requalification(
            campaign_id=closed.id,
            deadline=utcnow() - timedelta(days=1),
            wording_version=1,
            closed_at=utcnow(),
        )
    )
    marketing = CampaignFactory(purpose_id=purpose.id, status="sent", name="Newsletter")
    db_session.add(Delivery(campaign_id=marketing.id, contact_id=ContactFactory().id, status="sent"))
    db_session.commit()
    body = client_as("dpo").get("/admin/campaigns").get_data(as_text=True)
    rows = {
        name: row
        for row in re.findall(r"<tr>.*?</tr>", body, re.S)
        for name in re.findall(r">([^<]+)</a>", row)
    }
    open_row = rows["Ask again"]
    assert 'data-cycle-state="open"' in open_row and "cycle open" in open_row
    assert "until " in open_row
    assert "asked 3, waiting 2, confirmed 1, declined 0" in open_row
    assert "100 %" not in open_row and "<progress" not in open_row
    assert 'data-cycle-state="closed"' in rows["Old ask"]
    # A marketing campaign keeps its progress bar.
    assert "100 % (1 / 1)" in rows["Newsletter"]
