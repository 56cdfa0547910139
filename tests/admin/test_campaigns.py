"""Campaign pages: compose, live preview with errors at their line, test send, audience, schedule, export."""

from __future__ import annotations

import csv
import email
import io
import time
from collections.abc import Callable
from datetime import datetime
from email.policy import default
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sender.models import AuditEvent, Campaign, ConsentEvent, Delivery, ListMember, Segment
from sender.services.audience import segments
from tests.admin.conftest import post
from tests.campaign_helpers import build_audience, grant
from tests.factories import CampaignFactory, ContactFactory, ListFactory, PurposeFactory, WordingFactory

ClientAs = Callable[[str], FlaskClient]


def _compose_data(purpose_slug: str, list_id: int, **changes: str) -> dict[str, Any]:
    return {
        "name": "December",
        "purpose": purpose_slug,
        "kind": "marketing",
        "lists": [str(list_id)],
        "subject": "News for you, {{ contact.first_name }}",
        "body_text": "Hello {{ contact.first_name }},\nour shop opens on Sunday.",
        "body_format": "html",
        "body_source": "<p>Hello {{ contact.first_name }}</p>",
        **changes,
    }


def test_compose_saves_a_draft_and_shows_the_rendered_message(
    client_as: ClientAs, db_session: Session
) -> None:
    purpose = PurposeFactory(slug="news", name="Newsletter")
    lst = ListFactory()
    client = client_as("marketer")
    response = post(client, "/admin/campaigns/new", _compose_data("news", lst.id))
    assert response.status_code == 302
    campaign = db_session.scalars(select(Campaign)).one()
    assert (campaign.name, campaign.status, campaign.purpose_id) == ("December", "draft", purpose.id)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    # The sample contact is made up when the lists are empty; the footer is the system's.
    assert "News for you, Camille" in page
    assert "List-Unsubscribe" in page
    assert "Exemple SAS" in page
    frame = client.get(f"/admin/campaigns/{campaign.id}/message.html")
    assert "<p>Hello Camille</p>" in frame.get_data(as_text=True)
    assert "sandbox" in frame.headers["Content-Security-Policy"]


def test_a_template_error_is_shown_at_its_line(client_as: ClientAs, db_session: Session) -> None:
    PurposeFactory(slug="news")
    lst = ListFactory()
    client = client_as("marketer")
    body = "Hello\n{{ contact.first_name }\nbye"
    response = post(client, "/admin/campaigns/new", _compose_data("news", lst.id, body_text=body))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="body_text-error"' in page
    assert "line 2" in page
    assert '<span class="bad">  2 | {{ contact.first_name }</span>' in page
    assert db_session.scalar(select(func.count()).select_from(Campaign)) == 0


def test_live_preview_renders_the_unsaved_form(client_as: ClientAs, db_session: Session) -> None:
    PurposeFactory(slug="news")
    lst = ListFactory()
    client = client_as("admin")
    ok = post(
        client, "/admin/campaigns/preview", _compose_data("news", lst.id), token_page="/admin/campaigns/new"
    )
    assert ok.status_code == 200
    data = ok.get_json()
    assert data["subject"] == "News for you, Camille"
    assert "our shop opens on Sunday" in data["text"]
    assert any(name == "List-Unsubscribe" for name, _ in data["headers"])
    bad = post(
        client,
        "/admin/campaigns/preview",
        _compose_data("news", lst.id, subject="{{ secret }}"),
        token_page="/admin/campaigns/new",
    )
    assert bad.status_code == 422
    assert bad.get_json()["errors"]["subject"].startswith("line 1:")
    assert db_session.scalar(select(func.count()).select_from(Campaign)) == 0


def test_live_preview_refuses_a_hostile_template_quickly_naming_the_limit(
    client_as: ClientAs, db_session: Session
) -> None:
    # Issue 15, item 3: checked in a child process under hard limits, refused before anything is built.
    PurposeFactory(slug="news")
    lst = ListFactory()
    client = client_as("marketer")
    hostile = "{{ ['x' * 1000000] * 10000 }}"
    start = time.monotonic()
    response = post(
        client,
        "/admin/campaigns/preview",
        _compose_data("news", lst.id, subject=hostile, body_source=hostile),
        token_page="/admin/campaigns/new",
    )
    assert response.status_code == 422
    assert response.get_json()["errors"] == {
        "subject": "line 1: builds a value of more than 1,000,000 characters (limit)",
        "body_source": "line 1: builds a value of more than 1,000,000 characters (limit)",
    }
    assert time.monotonic() - start < 15


def test_edit_a_draft_with_a_segment_only(client_as: ClientAs, db_session: Session) -> None:
    purpose = PurposeFactory(slug="news")
    lst = ListFactory()
    campaign = CampaignFactory(purpose_id=purpose.id, lists=[lst])
    segment = Segment(name="VIP", rules={"groups": [{"tags": ["vip"]}]})
    db_session.add(segment)
    db_session.commit()
    client = client_as("marketer")
    data = _compose_data("news", lst.id, name="Renamed")
    data["lists"], data["segments"] = [], [str(segment.id)]
    response = post(client, f"/admin/campaigns/{campaign.id}/edit", data)
    assert response.status_code == 302
    db_session.refresh(campaign)
    assert campaign.name == "Renamed" and campaign.lists == []
    assert segments.of_campaign(db_session, campaign.id) == [segment.id]
    data["segments"] = []
    refused = post(client, f"/admin/campaigns/{campaign.id}/edit", data)
    assert refused.status_code == 422
    assert "choose at least one list or segment" in refused.get_data(as_text=True)


def test_audience_preview_counts_by_skip_reason(client_as: ClientAs, db_session: Session) -> None:
    audience = build_audience(db_session, eligible=2)
    campaign = CampaignFactory(purpose_id=audience.purpose.id, lists=[audience.lst])
    db_session.commit()
    page = client_as("dpo").get(f"/admin/campaigns/{campaign.id}/audience").get_data(as_text=True)
    assert '<td id="queued">2</td>' in page
    assert "Skipped: No consent" in page and "Skipped: Consent withdrawn" in page
    assert db_session.scalar(select(func.count()).select_from(Delivery)) == 0


def test_test_send_is_marked_and_changes_no_consent(
    client_as: ClientAs, db_session: Session, settings: Any
) -> None:
    purpose = PurposeFactory(slug="news")
    WordingFactory(purpose=purpose)
    lst = ListFactory()
    member = ContactFactory(first_name="Jeanne")
    db_session.add(ListMember(list_id=lst.id, contact_id=member.id))
    campaign = CampaignFactory(purpose_id=purpose.id, lists=[lst])
    db_session.commit()
    outbox = Path(settings.outbox_path)
    before = set(outbox.glob("*.eml")) if outbox.exists() else set()
    client = client_as("marketer")
    page = f"/admin/campaigns/{campaign.id}"
    response = post(client, f"{page}/test", {"address": "me@exemple.org"}, token_page=page)
    assert response.status_code == 302
    new = set(outbox.glob("*.eml")) - before
    assert len(new) == 1
    message = email.message_from_bytes(new.pop().read_bytes(), policy=default)
    assert message["To"] == "me@exemple.org"
    # The sample's data, not the list member's (issue 15, item 8).
    assert str(message["Subject"]) == "[TEST] Hello Camille"
    assert message["X-Sender-Test"] == "yes"
    # Its unsubscribe link names a stand-in: following it changes nobody's consent.
    link = str(message["List-Unsubscribe"]).split("<", 1)[1].split(">", 1)[0]
    assert (
        client.post(
            link.replace("https://sender.test", ""), data={"List-Unsubscribe": "One-Click"}
        ).status_code
        == 404
    )
    assert db_session.scalar(select(func.count()).select_from(Delivery)) == 0
    assert db_session.scalar(select(func.count()).select_from(ConsentEvent)) == 0
    actions = db_session.scalars(select(AuditEvent.action)).all()
    assert "campaign.test_send" in actions


def test_schedule_reads_the_organisation_time_zone(
    client_as: ClientAs, db_session: Session, redis_conn: Any
) -> None:
    purpose = PurposeFactory()
    campaign = CampaignFactory(purpose_id=purpose.id, lists=[ListFactory()])
    db_session.commit()
    client = client_as("marketer")
    page = f"/admin/campaigns/{campaign.id}"
    response = post(client, f"{page}/schedule", {"when": "2099-07-01T09:00"}, token_page=page)
    assert response.status_code == 303
    db_session.refresh(campaign)
    # 09:00 in Paris in summer is 07:00 UTC.
    assert (campaign.status, campaign.scheduled_at.isoformat()) == ("scheduled", "2099-07-01T07:00:00")
    assert "2099-07-01 09:00 CEST" in client.get(page).get_data(as_text=True)
    past = post(client, f"{page}/schedule", {"when": "2001-01-01T09:00"}, token_page=page)
    assert "must be in the future" in client.get(past.headers["Location"]).get_data(as_text=True)


def test_send_pause_resume_cancel(client_as: ClientAs, db_session: Session, redis_conn: Any) -> None:
    audience = build_audience(db_session, eligible=3)
    campaign = CampaignFactory(purpose_id=audience.purpose.id, lists=[audience.lst])
    db_session.commit()
    client = client_as("marketer")
    page = f"/admin/campaigns/{campaign.id}"
    for action, status in (
        ("send", "sending"),
        ("pause", "paused"),
        ("resume", "sending"),
        ("cancel", "cancelled"),
    ):
        assert post(client, f"{page}/{action}", {"confirm": "yes"}, token_page=page).status_code == 303
        db_session.refresh(campaign)
        assert campaign.status == status, action
    refused = post(client, f"{page}/resume", token_page=page)
    assert "cannot go to sending" in client.get(refused.headers["Location"]).get_data(as_text=True)
    progress = client.get(f"{page}/progress").get_json()
    assert progress["status"] == "cancelled" and progress["total"] == len(audience.contacts)


def test_only_a_draft_can_be_deleted(client_as: ClientAs, db_session: Session) -> None:
    purpose = PurposeFactory()
    draft = CampaignFactory(purpose_id=purpose.id)
    sent = CampaignFactory(purpose_id=purpose.id, status="sent")
    db_session.commit()
    client = client_as("admin")
    assert post(client, f"/admin/campaigns/{draft.id}/delete").status_code == 303
    assert post(client, f"/admin/campaigns/{sent.id}/delete").status_code == 303
    assert db_session.scalars(select(Campaign.id)).all() == [sent.id]


def test_export_neutralises_formulas_and_hides_addresses_from_the_dpo(
    client_as: ClientAs, db_session: Session
) -> None:
    purpose = PurposeFactory()
    campaign = CampaignFactory(purpose_id=purpose.id, status="sent")
    contact = ContactFactory(email="=cmd@example.org")
    db_session.add(
        Delivery(campaign_id=campaign.id, contact_id=contact.id, status="failed", last_error="=HYPERLINK(1)")
    )
    db_session.commit()
    url = f"/admin/campaigns/{campaign.id}/deliveries.csv"
    rows = list(csv.reader(io.StringIO(client_as("marketer").get(url).get_data(as_text=True))))
    assert rows[0][2] == "email"
    assert rows[1][2] == "'=cmd@example.org"
    assert rows[1][-1] == "'=HYPERLINK(1)"
    dpo_rows = list(csv.reader(io.StringIO(client_as("dpo").get(url).get_data(as_text=True))))
    assert "email" not in dpo_rows[0]
    assert not any("cmd@example.org" in cell for cell in dpo_rows[1])
    assert dpo_rows[1][1] == contact.public_id


def test_dashboard_shows_progress_consents_and_overdue(client_as: ClientAs, db_session: Session) -> None:
    purpose = PurposeFactory(name="Monthly newsletter")
    WordingFactory(purpose=purpose)
    grant(db_session, ContactFactory(), purpose)
    running = CampaignFactory(purpose_id=purpose.id, status="sending", name="Running one")
    CampaignFactory(
        purpose_id=purpose.id, status="scheduled", name="Missed one", scheduled_at=datetime(2020, 1, 1)
    )
    db_session.add(Delivery(campaign_id=running.id, contact_id=ContactFactory().id, status="sent"))
    db_session.add(Delivery(campaign_id=running.id, contact_id=ContactFactory().id, status="queued"))
    db_session.commit()
    page = client_as("dpo").get("/admin/").get_data(as_text=True)
    assert "Running one" in page and "50 % (1 / 2)" in page
    assert "<td>Monthly newsletter</td><td>1</td><td>0</td>" in page
    assert "Missed one was scheduled for 2020-01-01 00:00 UTC" in page
