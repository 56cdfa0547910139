"""The send path under faults, through real `worker.py` processes and a real SMTP server: throttling, bad data."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from sender.models import Contact, Delivery
from tests.campaign_helpers import build_audience

pytestmark = pytest.mark.e2e


def _campaign(stack, audience, **content):
    body = {
        "name": "December news",
        "subject": "News for you, {{ contact.first_name }}",
        "body_text": "Hello {{ contact.first_name }},\nour shop opens on Sunday.",
        "body_html": "<p>Hello {{ contact.first_name }}</p>",
        **content,
        "purpose": audience.purpose.slug,
        "lists": [audience.lst.id],
    }
    response = stack.api("POST", "/campaigns", body)
    assert response.status_code == 201, response.get_json()
    campaign_id = response.get_json()["id"]
    assert stack.api("POST", f"/campaigns/{campaign_id}/send").status_code == 202
    return campaign_id


def _sent_rows(stack, campaign_id):
    stack.session.expire_all()
    rows = stack.session.scalars(
        select(Delivery).where(Delivery.campaign_id == campaign_id, Delivery.status != "skipped")
    ).all()
    stack.session.commit()  # end the read: on SQLite an open transaction holds the write lock
    return {row.contact_id: row for row in rows}


def test_a_throttling_answer_slows_down_and_does_not_count_as_an_attempt(stack):
    audience = build_audience(stack.session, eligible=1)
    stack.session.commit()
    # The relay says "slow down" (421 4.7.0) once, then accepts; the worker shares a rate limit through Redis.
    stack.mail.script(["421 4.7.0 too many messages, slow down"])
    stack.env["SMTP_MAX_RATE"] = "50/s,10000/h"
    campaign_id = _campaign(stack, audience)

    stack.worker()

    assert [m.reply[:9] for m in stack.mail.received] == ["421 4.7.0", "250 OK"]
    assert len(stack.mail.messages) == 1
    (row,) = _sent_rows(stack, campaign_id).values()
    assert (row.status, row.attempts) == ("sent", 1)


def test_a_contact_whose_data_cannot_be_encoded_fails_alone(stack):
    audience = build_audience(stack.session, eligible=8)
    broken = audience.contacts["eligible3"].id
    # A lone surrogate survives JSON storage but can never become UTF-8 on the wire.
    stack.session.execute(update(Contact).where(Contact.id == broken).values(attributes={"nick": "\ud800"}))
    innocent = sorted(audience.contacts[f"eligible{i}"].email for i in range(8) if i != 3)
    stack.session.commit()
    campaign_id = _campaign(stack, audience, body_text="Hello {{ contact.attributes.nick }}!")

    stack.worker()

    rows = _sent_rows(stack, campaign_id)
    assert (rows[broken].status, rows[broken].reason) == ("failed", "render_failed")
    assert rows[broken].last_error == "encoding failed: UnicodeEncodeError"
    others = [row for cid, row in rows.items() if cid != broken]
    assert [row.status for row in others] == ["sent"] * 7
    assert sorted(r for m in stack.mail.messages for r in m.rcpt_tos) == innocent
    assert stack.api("GET", f"/campaigns/{campaign_id}").get_json()["status"] == "sent"
