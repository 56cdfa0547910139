"""A/B tests from the API to the SMTP wire, through the real redirect endpoint, the decision job and the sweep.

Forty people consent to the newsletter. Variants A and B go to a quarter of them each; the rest wait. B's
link is clicked by more people than A's, so when the wait is over B goes to the rest, and the person who
withdrew meanwhile is refused by the gate. A person may pick the winner instead, and the sweep decides a
test whose job was lost.
"""

from __future__ import annotations

import re
from datetime import UTC, timedelta
from html import unescape

import pytest
from rq.job import Job
from sqlalchemy import select, update

from sender.db import utcnow
from sender.models import AbTest, Delivery, ListMember
from sender.work.jobs import DecideAbTest
from tests.campaign_helpers import grant
from tests.factories import ContactFactory, ListFactory, PurposeFactory, WordingFactory

pytestmark = pytest.mark.e2e

LINKS = {"A": "https://shop.example/plain", "B": "https://shop.example/bold"}
TRACKED = re.compile(r"https://sender\.test/r/(?!o/)([A-Za-z0-9_.-]+)")
PEOPLE = 40


def _arrange(stack):
    """A newsletter purpose and its list of forty consenting people; their public ids, by email."""
    news = PurposeFactory()
    WordingFactory(purpose=news)
    lst = ListFactory()
    people = {}
    for n in range(PEOPLE):
        person = ContactFactory(email=f"reader{n}@exemple.org")
        grant(stack.session, person, news)
        stack.session.add(ListMember(list_id=lst.id, contact_id=person.id))
        people[person.email] = person.public_id
    stack.session.commit()
    return news.slug, lst.id, people


def _create(stack, news, lst, decide_by="clicks"):
    body = {
        "name": "Spring sale",
        "purpose": news,
        "lists": [lst],
        "subject": "Our spring sale",
        "body_html": f'<p><a href="{LINKS["A"]}">See the sale</a></p>',
        "body_text": f"See the sale: {LINKS['A']}",
        "tracking_mode": "aggregate",
        "ab_test": {
            "variants": [
                {
                    "subject": "Spring sale: 30 % off",
                    "body_source": f'<p><a href="{LINKS["B"]}">Take 30 % off</a></p>',
                    "body_text": f"Take 30 % off: {LINKS['B']}",
                }
            ],
            "test_percent": 25,
            "wait_minutes": 60,
            "decide_by": decide_by,
        },
    }
    created = stack.api("POST", "/campaigns", body)
    assert created.status_code == 201, created.get_json()
    return created.get_json()["id"]


def _received(stack):
    """Each message received so far: (recipient, subject, HTML part)."""
    found = []
    for received in stack.mail.messages:
        message = received.message()
        found.append((message["To"], message["Subject"], message.get_body(("html",)).get_content()))
    return found


def _campaign(stack, campaign_id):
    answer = stack.api("GET", f"/campaigns/{campaign_id}")
    assert answer.status_code == 200
    return answer.get_json()


def _click(stack, token, n):
    """`n` different readers follow an aggregate link (each its own browser), a minute after delivery."""
    for i in range(n):
        agent = f"Mozilla/5.0 (X11; Linux x86_64; rv:{100 + i}.0) Gecko/20100101 Firefox/{100 + i}.0"
        with stack.client.open(f"/r/{token}", headers={"User-Agent": agent}) as answer:
            assert answer.status_code == 302


def _wait_over(stack, campaign_id, job_lost=False):
    """The tests' clock: the test's wait ended two minutes ago; its RQ job is due now (or was lost)."""
    due = utcnow() - timedelta(minutes=2)
    stack.session.execute(update(AbTest).where(AbTest.campaign_id == campaign_id).values(decide_at=due))
    stack.session.execute(
        update(Delivery).where(Delivery.campaign_id == campaign_id).values(sent_at=due - timedelta(minutes=5))
    )
    stack.session.commit()
    job = DecideAbTest(campaign_id, "email")
    queue = stack.runtime.queue(job.queue)
    assert job.job_id in queue.scheduled_job_registry
    if job_lost:
        queue.scheduled_job_registry.remove(job.job_id)
    else:
        found = Job.fetch(job.job_id, connection=stack.runtime.redis, serializer=queue.serializer)
        queue.scheduled_job_registry.schedule(found, due.replace(tzinfo=UTC))


def _statuses(stack, campaign_id):
    rows = stack.session.execute(
        select(Delivery.contact_id, Delivery.status, Delivery.reason, Delivery.variant).where(
            Delivery.campaign_id == campaign_id
        )
    ).all()
    stack.session.commit()
    return rows


def test_the_variant_with_more_unique_clicks_goes_to_the_rest_and_the_gate_still_checks_each_person(stack):
    news, lst, people = _arrange(stack)
    campaign_id = _create(stack, news, lst)
    assert stack.api("POST", f"/campaigns/{campaign_id}/send").status_code == 202
    stack.worker()

    # Only the test shares went out, each variant with its own subject and its own (aggregate) link.
    first = _received(stack)
    by_subject = {"Our spring sale": [], "Spring sale: 30 % off": []}
    for to, subject, html in first:
        by_subject[subject].append((to, TRACKED.findall(unescape(html))))
    a, b = by_subject["Our spring sale"], by_subject["Spring sale: 30 % off"]
    assert a and b
    shown = _campaign(stack, campaign_id)
    test = shown["ab_test"]
    assert shown["status"] == "sending"
    assert [v["sent"] for v in test["variants"]] == [len(a), len(b)]
    assert test["waiting"] == PEOPLE - len(a) - len(b) > 0
    assert test["winner"] is None and test["decide_at"] is not None
    assert shown["counts"]["by_status"]["deferred"] == test["waiting"]
    for _to, links in a + b:
        assert LINKS["A"] not in links and LINKS["B"] not in links
    # Aggregate links name no one: every reader of a variant has the same one.
    assert len({links[0] for _, links in a}) == 1 and len({links[0] for _, links in b}) == 1

    # One of those waiting withdraws before the decision.
    tested = {to for to, _ in a + b}
    waiting_email = next(email for email in people if email not in tested)
    withdrawal = {"purpose": news, "channel": "email", "action": "withdraw", "mechanism": "email_request"}
    answer = stack.api("POST", f"/contacts/{people[waiting_email]}/consents", withdrawal)
    assert answer.status_code in (200, 201), answer.get_json()

    # B's link draws three readers, A's one (whose browser is also one of B's readers': two messages, not a
    # scanner's burst over one message's links); then the wait is over and the decision job runs.
    _wait_over(stack, campaign_id)
    _click(stack, a[0][1][0], 1)
    _click(stack, b[0][1][0], 3)
    stack.worker()

    decided = _campaign(stack, campaign_id)
    test = decided["ab_test"]
    assert test["winner"] == "B" and test["decided_by"] == "scheduler"
    assert [v["unique_clicks"] for v in test["variants"]] == [1, 3]
    assert test["waiting"] == 0 and decided["status"] == "sent"
    rest = _received(stack)[len(first) :]
    assert len(rest) == PEOPLE - len(a) - len(b) - 1
    assert {subject for _, subject, _ in rest} == {"Spring sale: 30 % off"}
    assert waiting_email not in {to for to, _, _ in rest}
    assert not {to for to, _, _ in rest} & tested
    rows = _statuses(stack, campaign_id)
    assert sorted(r.reason for r in rows if r.status == "skipped") == ["withdrawn"]
    assert {r.variant for r in rows if r.status == "sent"} == {0, 1}
    assert sum(1 for r in rows if r.status == "sent" and r.variant == 1) == len(b) + len(rest)

    # The decision is taken once: a person's late pick is refused and names the winner.
    late = stack.api("POST", f"/campaigns/{campaign_id}/ab-test/winner", {"variant": "A"})
    assert late.status_code == 409 and "variant B" in late.get_json()["message"]


def test_a_person_picks_the_winner_and_the_sweep_decides_a_test_whose_job_was_lost(stack):
    news, lst, _ = _arrange(stack)
    manual = _create(stack, news, lst, decide_by="manual")
    assert stack.api("POST", f"/campaigns/{manual}/send").status_code == 202
    stack.worker()
    sent_first = len(_received(stack))
    waiting = _campaign(stack, manual)["ab_test"]["waiting"]
    assert waiting > 0 and _campaign(stack, manual)["ab_test"]["decide_at"] is None

    picked = stack.api("POST", f"/campaigns/{manual}/ab-test/winner", {"variant": "A"})
    assert picked.status_code == 200, picked.get_json()
    assert picked.get_json()["ab_test"]["winner"] == "A"
    stack.worker()
    rest = _received(stack)[sent_first:]
    assert len(rest) == waiting and {subject for _, subject, _ in rest} == {"Our spring sale"}

    # A test by clicks whose decision job was lost with Redis's data: the sweep decides it (a tie: A wins).
    lost = _create(stack, news, lst)
    assert stack.api("POST", f"/campaigns/{lost}/send").status_code == 202
    stack.worker()
    _wait_over(stack, lost, job_lost=True)
    stack.sweep()
    stack.worker()
    swept = _campaign(stack, lost)
    assert swept["ab_test"]["winner"] == "A" and swept["ab_test"]["decided_by"] == "scheduler"
    assert swept["status"] == "sent" and swept["ab_test"]["waiting"] == 0
