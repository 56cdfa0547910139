"""An email campaign from the API to the SMTP wire, through real worker processes."""

from __future__ import annotations

import re
import signal
from collections import Counter
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import psutil
import pytest
from sqlalchemy import select, update

from sender import work
from sender.channels.base import get_channel
from sender.db import utcnow
from sender.models import Campaign, ConsentEvent, Delivery, ListMember, Suppression
from sender.services.campaigns import launch, planning, states
from sender.services.consent import gate, ledger
from tests.campaign_helpers import build_audience, grant, let_time_pass_until_due
from tests.factories import ContactFactory
from tests.smtp_server import Reply

pytestmark = pytest.mark.e2e

BODY = {
    "name": "December news",
    "subject": "News for you, {{ contact.first_name }}",
    "body_text": "Hello {{ contact.first_name }},\nour shop opens on Sunday.",
    "body_html": "<p>Hello {{ contact.first_name }},</p><p>our shop opens on Sunday.</p>",
}


def _create(stack, audience):
    response = stack.api(
        "POST", "/campaigns", {**BODY, "purpose": audience.purpose.slug, "lists": [audience.lst.id]}
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _deliveries(stack, campaign_id):
    stack.session.expire_all()
    rows = stack.session.scalars(select(Delivery).where(Delivery.campaign_id == campaign_id)).all()
    stack.session.commit()  # end the read: on SQLite an open transaction holds the write lock
    return rows


def _withdraw(stack, contact, purpose):
    """The person withdraws through the portal, committed at once."""
    ledger.record(
        stack.session,
        contact,
        purpose,
        channel="email",
        action="withdraw",
        source="portal",
        mechanism="link",
        actor="contact",
    )
    stack.session.commit()


def _launch_first_chunk(stack, audience, limit):
    """Start a launch and plan only its first `limit` contacts, committed and enqueued, as a launch does."""
    campaign = stack.session.get(Campaign, _create(stack, audience))
    states.move(stack.session, campaign, states.LAUNCH, launched_at=utcnow())
    stack.session.commit()
    first = planning.plan_chunk(
        stack.session,
        campaign,
        [audience.lst.id],
        campaign.launched_at,
        10,
        channel=get_channel(campaign.channel),
        after=0,
        limit=limit,
        first_batch=0,
    )
    launch.requeue(stack.session, campaign.id, campaign.channel, first.batches)
    work.commit(stack.session, "first chunk")
    return campaign, first


def _recipients(stack):
    return Counter(r for m in stack.mail.messages for r in m.rcpt_tos)


def test_only_consenting_contacts_receive_one_message_each(stack):
    audience = build_audience(stack.session, eligible=2)
    stack.session.commit()
    campaign_id = _create(stack, audience)
    refused = {
        "no_consent": 1,
        "withdrawn": 1,
        "expired": 1,
        "suppressed": 1,
        "restricted": 1,
        "no_address": 1,
    }

    preview = stack.api("POST", f"/campaigns/{campaign_id}/audience-preview").get_json()
    assert preview == {"queued": 2, "skipped": refused}
    sent = stack.api("POST", f"/campaigns/{campaign_id}/send")
    assert sent.status_code == 202
    assert sent.get_json() == {"status": "sending", "queued": 2, "skipped": refused}

    stack.worker()

    eligible = {audience.contacts[k].email for k in ("eligible0", "eligible1")}
    assert _recipients(stack) == Counter({e: 1 for e in eligible})
    campaign = stack.api("GET", f"/campaigns/{campaign_id}").get_json()
    assert campaign["status"] == "sent"
    assert campaign["counts"] == {"by_status": {"sent": 2, "skipped": 6}, "skipped": refused}
    page = stack.api("GET", f"/campaigns/{campaign_id}/deliveries?status=sent").get_json()
    assert len(page["items"]) == 2 and all(d["sent_at"] for d in page["items"])


def test_message_carries_its_exits_and_one_click_withdraws_once(stack):
    audience = build_audience(stack.session, eligible=1)
    stack.session.commit()
    campaign_id = _create(stack, audience)
    stack.api("POST", f"/campaigns/{campaign_id}/send")
    stack.worker()
    contact = audience.contacts["eligible0"]

    (received,) = stack.mail.messages
    message = received.message()
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    for body in (text, html):
        assert "Exemple SAS" in body and "1 rue de la Paix" in body
        assert audience.purpose.description in body
    header = message["List-Unsubscribe"]
    https = re.findall(r"<(https://[^>]+)>", header)
    assert len(https) == 1
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["List-Id"] and message["Message-ID"] and message["Date"]
    unsubscribe = https[0]
    assert unsubscribe in text
    assert contact.email not in header and contact.email.split("@")[0] not in unsubscribe
    portal = re.search(r"https://sender\.test/p/\S+", text)
    assert portal is not None

    path = urlsplit(unsubscribe).path
    assert stack.client.get(path).status_code == 200
    assert gate.check(stack.session, contact.id, audience.purpose.id, "email").eligible
    stack.session.commit()
    for _ in range(2):
        answer = stack.client.post(path, data={"List-Unsubscribe": "One-Click"})
        assert answer.status_code == 200 and "Location" not in answer.headers
    stack.session.expire_all()
    assert gate.check(stack.session, contact.id, audience.purpose.id, "email").reason == "withdrawn"
    withdrawals = stack.session.scalars(
        select(ConsentEvent).where(ConsentEvent.contact_id == contact.id, ConsentEvent.action == "withdraw")
    ).all()
    assert [(e.source, e.mechanism) for e in withdrawals] == [("one_click", "one_click")]
    stack.session.commit()
    assert stack.client.get(urlsplit(portal.group(0)).path).status_code == 200


def test_withdrawal_between_planning_and_sending_wins(stack):
    audience = build_audience(stack.session, eligible=3)
    stack.session.commit()
    campaign_id = _create(stack, audience)
    assert stack.api("POST", f"/campaigns/{campaign_id}/send").get_json()["queued"] == 3
    late = audience.contacts["eligible1"]
    _withdraw(stack, late, audience.purpose)

    stack.worker()

    assert late.email not in _recipients(stack)
    assert len(stack.mail.messages) == 2
    row = next(d for d in _deliveries(stack, campaign_id) if d.contact_id == late.id)
    assert (row.status, row.reason) == ("skipped", "withdrawn")


def test_duplicate_enqueue_sends_nothing_twice(stack):
    audience = build_audience(stack.session, eligible=12)
    stack.session.commit()
    campaign_id = _create(stack, audience)
    stack.api("POST", f"/campaigns/{campaign_id}/send")
    # The same batches once more under other job ids, as a second launcher or a replayed queue would.
    assert launch.requeue(stack.session, campaign_id, "email", [0, 1], dead={0, 1}) == 2
    work.commit(stack.session, "replay")

    stack.worker()

    counts = _recipients(stack)
    assert len(counts) == 12 and set(counts.values()) == {1}


def test_worker_killed_mid_batch_leaves_no_duplicate(stack):
    audience = build_audience(stack.session, eligible=30)
    stack.session.commit()
    campaign_id = _create(stack, audience)
    # Slow replies so the kill lands in the middle of a batch.
    stack.mail.script([Reply(None, delay=0.15)] * 12)
    stack.api("POST", f"/campaigns/{campaign_id}/send")

    worker = stack.start_worker()
    stack.mail.wait_for(5, timeout=60)
    # RQ runs each job in a forked work-horse in its own session: kill it and its parent.
    parent = psutil.Process(worker.pid)
    for proc in [*parent.children(recursive=True), parent]:
        proc.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    report = launch.sweep(stack.runtime, lease_seconds=0)
    assert report.stale_batches == 1
    stack.worker()

    rows = {d.contact_id: d for d in _deliveries(stack, campaign_id) if d.status != "skipped"}
    received = _recipients(stack)
    by_email = {
        audience.contacts[f"eligible{i}"].email: audience.contacts[f"eligible{i}"].id for i in range(30)
    }
    assert max(received.values()) == 1, "a contact received two messages"
    unknown = [cid for cid, d in rows.items() if d.status == "unknown"]
    assert 1 <= len(unknown) <= 3  # at most one claim chunk (SEND_CLAIM_SIZE=3) is left unknown
    assert {d.status for d in rows.values()} <= {"sent", "unknown"}
    for email, cid in by_email.items():
        if rows[cid].status == "sent":
            assert received[email] == 1
    assert set(received) <= set(by_email)


def test_temporary_failure_is_retried_and_delivered_once(stack):
    audience = build_audience(stack.session, eligible=1)
    stack.session.commit()
    campaign_id = _create(stack, audience)
    stack.mail.script(["421 4.3.0 try again later"])
    stack.api("POST", f"/campaigns/{campaign_id}/send")

    stack.worker()

    assert [m.reply[:3] for m in stack.mail.received] == ["421", "250"]
    assert len(stack.mail.messages) == 1
    row = next(d for d in _deliveries(stack, campaign_id) if d.status != "skipped")
    assert (row.status, row.attempts) == ("sent", 2)


def test_no_such_user_fails_and_suppresses_the_address(stack):
    audience = build_audience(stack.session, eligible=1)
    stack.session.commit()
    contact = audience.contacts["eligible0"]
    campaign_id = _create(stack, audience)
    stack.mail.script([Reply("550 5.1.1 no such user", at="rcpt")])
    stack.api("POST", f"/campaigns/{campaign_id}/send")

    stack.worker()

    row = next(d for d in _deliveries(stack, campaign_id) if d.status != "skipped")
    assert (row.status, row.reason) == ("failed", "invalid_address")
    assert (
        stack.session.scalars(select(Suppression).where(Suppression.address_hash == contact.email_hash))
        .one()
        .reason
        == "hard_bounce"
    )
    stack.session.commit()
    again = stack.api("POST", "/contacts", {"email": contact.email.upper()})
    assert again.status_code == 409


def test_unknown_contact_added_after_planning_gets_nothing(stack):
    audience = build_audience(stack.session, eligible=1)
    stack.session.commit()
    campaign_id = _create(stack, audience)
    stack.api("POST", f"/campaigns/{campaign_id}/send")
    newcomer = ContactFactory()
    grant(stack.session, newcomer, audience.purpose)
    stack.session.add(ListMember(list_id=audience.lst.id, contact_id=newcomer.id))
    stack.session.commit()

    stack.worker()

    assert newcomer.email not in _recipients(stack)


def test_sweep_command_closes_a_finished_campaign(stack):
    audience = build_audience(stack.session, eligible=1)
    stack.session.commit()
    campaign_id = _create(stack, audience)
    stack.api("POST", f"/campaigns/{campaign_id}/send")
    stack.worker()
    row = next(d for d in _deliveries(stack, campaign_id) if d.status == "sent")
    # As if the worker had died after sending and before closing the campaign.
    stack.session.execute(update(Campaign).where(Campaign.id == campaign_id).values(status="sending"))
    stack.session.commit()

    out = stack.sweep()

    assert "campaigns finished: 1" in out
    assert stack.api("GET", f"/campaigns/{campaign_id}").get_json()["status"] == "sent"
    assert row.status == "sent"


def test_scheduled_campaign_is_launched_by_the_scheduler_when_due(stack):
    audience = build_audience(stack.session, eligible=2)
    stack.session.commit()
    when = datetime.now(UTC) + timedelta(hours=1)
    response = stack.api(
        "POST",
        "/campaigns",
        {
            **BODY,
            "purpose": audience.purpose.slug,
            "lists": [audience.lst.id],
            "scheduled_at": when.isoformat(),
        },
    )
    campaign_id = response.get_json()["id"]
    assert stack.api("POST", f"/campaigns/{campaign_id}/send").get_json()["status"] == "scheduled"
    # Withdrawn after scheduling: planning happens at launch time, so this contact is not even queued.
    late = audience.contacts["eligible1"]
    _withdraw(stack, late, audience.purpose)

    stack.worker()  # the scheduler runs in every worker; nothing is due yet
    assert stack.mail.messages == []
    assert stack.api("GET", f"/campaigns/{campaign_id}").get_json()["status"] == "scheduled"
    let_time_pass_until_due(stack, campaign_id)
    stack.worker()

    assert _recipients(stack) == Counter({audience.contacts["eligible0"].email: 1})
    campaign = stack.api("GET", f"/campaigns/{campaign_id}").get_json()
    assert campaign["status"] == "sent" and campaign["counts"]["skipped"]["withdrawn"] == 2


def test_redis_losing_its_queues_delays_but_never_duplicates(stack):
    audience = build_audience(stack.session, eligible=12)
    stack.session.commit()
    campaign_id = _create(stack, audience)
    stack.api("POST", f"/campaigns/{campaign_id}/send")
    stack.worker()
    sent_first = len(stack.mail.messages)
    # A second campaign whose jobs vanish with a Redis restart (data not persisted).
    second = _create(stack, audience)
    stack.api("POST", f"/campaigns/{second}/send")
    stack.runtime.redis.flushdb()
    stack.worker()
    assert len(stack.mail.messages) == sent_first  # nothing left to run

    report = launch.sweep(stack.runtime)  # what cron (or `sender serve`) runs every minute
    assert report.requeued_jobs == 2
    stack.worker()

    counts = _recipients(stack)
    assert set(counts.values()) == {2}  # one message per campaign per eligible contact
    assert stack.api("GET", f"/campaigns/{second}").get_json()["status"] == "sent"


def test_launch_interrupted_mid_planning_is_finished_by_the_sweep(stack):
    audience = build_audience(stack.session, eligible=5)
    stack.session.commit()
    # The web process dies after the first planning step was committed and enqueued.
    campaign, _ = _launch_first_chunk(stack, audience, limit=3)
    campaign_id = campaign.id
    stack.worker()
    assert stack.api("GET", f"/campaigns/{campaign_id}").get_json()["status"] == "sending"  # not finished

    report = launch.sweep(stack.runtime, lease_seconds=0)
    assert report.resumed_plannings == 1
    stack.worker()

    eligible = {audience.contacts[f"eligible{i}"].email for i in range(5)}
    assert _recipients(stack) == Counter({e: 1 for e in eligible})
    assert len(_deliveries(stack, campaign_id)) == len(audience.contacts)
    assert stack.api("GET", f"/campaigns/{campaign_id}").get_json()["status"] == "sent"


def test_campaign_sent_entirely_while_still_planning_is_closed_when_planning_ends(stack):
    audience = build_audience(stack.session, eligible=2)
    stack.session.commit()
    campaign, first = _launch_first_chunk(stack, audience, limit=1000)
    campaign_id = campaign.id
    stack.worker()  # everything is sent before planning has looked for more contacts

    result = launch.plan_and_enqueue(
        stack.session,
        stack.runtime.settings,
        campaign,
        get_channel(campaign.channel),
        after=first.last_contact_id,
        first_batch=first.batches.stop,
    )

    assert result.queued == 2 and campaign.status == "sent"
    stack.session.commit()
    assert stack.api("GET", f"/campaigns/{campaign_id}").get_json()["status"] == "sent"
