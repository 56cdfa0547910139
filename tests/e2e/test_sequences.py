"""Sequences end to end: real HTTP, the real `sender sequences run` duty and real workers, the clock moved
forward with SENDER_CLOCK_OFFSET (every process of the deployment reads it), messages received by aiosmtpd."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
from collections import Counter
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import psutil
import pytest
from sqlalchemy import select

from sender.db import utcnow
from sender.models import Contact, Delivery, Enrolment, OutgoingEvent
from sender.services.campaigns import launch
from tests.e2e.conftest import Stack
from tests.e2e.test_interruptions import Hold, _until
from tests.factories import ContactFactory, ListFactory, PurposeFactory, WordingFactory

pytestmark = pytest.mark.e2e

SENDER = str(Path(sys.executable).parent / "sender")
HOUR, DAY = 3600, 24 * 3600
WELCOME = {
    "channel": "email",
    "delay_value": 0,
    "delay_unit": "hours",
    "subject": "Bienvenue {{ contact.first_name }}",
    "body_format": "markdown",
    "body_source": "# Bienvenue\n\nMerci de votre inscription.",
    "body_text_derived": True,
}
TIPS = {
    "channel": "email",
    "delay_value": 2,
    "delay_unit": "days",
    "at_time": "09:00",
    "subject": "Nos conseils",
    "body_source": "<p>Trois conseils pour bien commencer.</p>",
    "body_text": "Trois conseils pour bien commencer.",
}


def _sequence(stack: Stack, purpose: str, **trigger: Any) -> int:
    """Build the welcome series through the API and activate it."""
    body = {"name": "Welcome", "purpose": purpose, "steps": [WELCOME, TIPS], **trigger}
    created = stack.api("POST", "/sequences", body)
    assert created.status_code == 201, created.get_json()
    sequence_id = created.get_json()["id"]
    activated = stack.api("POST", f"/sequences/{sequence_id}/activate")
    assert activated.status_code == 200, activated.get_json()
    stack.session.commit()
    return int(sequence_id)


def _duty(stack: Stack, offset: float = 0) -> str:
    """`sender sequences run` as cron runs it, at the moved clock."""
    done = subprocess.run(
        [SENDER, "sequences", "run"],
        env={**stack.env, "SENDER_CLOCK_OFFSET": str(int(offset))},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _work(stack: Stack, offset: float = 0) -> None:
    """A burst worker at the moved clock."""
    env = stack.env
    stack.env = {**env, "SENDER_CLOCK_OFFSET": str(int(offset))}
    try:
        stack.worker()
    finally:
        stack.env = env


def _subjects(stack: Stack, email: str) -> list[str]:
    return [str(m.message()["Subject"]) for m in stack.mail.messages if email in m.rcpt_tos]


def _enrolments(stack: Stack, email: str) -> list[Enrolment]:
    stack.session.expire_all()
    rows = list(
        stack.session.scalars(
            select(Enrolment).join(Contact, Contact.id == Enrolment.contact_id).where(Contact.email == email)
        )
    )
    stack.session.commit()  # end the read: on SQLite an open transaction holds the write lock
    return rows


def _link(stack: Stack, email: str, prefix: str) -> str:
    message = [m for m in stack.mail.messages if email in m.rcpt_tos][-1].message()
    found = re.search(
        rf"https://sender\.test({re.escape(prefix)}[A-Za-z0-9_\-.]+)",
        message.get_body(("plain",)).get_content(),
    )
    assert found, message
    return found.group(1)


def _sign_up_and_confirm(stack: Stack, email: str) -> None:
    answer = stack.client.post("/signup", data={"email": email, "consent": ["welcome:1"]})
    assert answer.status_code == 200
    _work(stack)  # the confirmation email
    assert stack.client.post(_link(stack, email, "/signup/confirm/")).status_code == 200


def _offset_until(moment: Any, margin: float) -> float:
    """Seconds to add to the clock so that it reads `moment` (naive UTC) plus `margin`."""
    return (moment - utcnow()).total_seconds() + margin


def test_a_double_opt_in_sign_up_enters_the_welcome_series_and_gets_each_step_on_time(stack: Stack) -> None:
    purpose = PurposeFactory(slug="welcome", requires_double_opt_in=True)
    WordingFactory(purpose=purpose)
    stack.session.commit()
    _sequence(stack, "welcome", trigger="consent")

    _sign_up_and_confirm(stack, "lou@example.org")

    # The confirmation click enrolled Lou (the grant went through the ledger); the request did not.
    (enrolment,) = _enrolments(stack, "lou@example.org")
    assert (enrolment.status, enrolment.step, enrolment.trigger) == ("active", 0, "consent")
    assert "planned=1" in _duty(stack)
    _work(stack)
    assert _subjects(stack, "lou@example.org")[1:] == ["Bienvenue"]

    # Step 2: two days later, at the next 09:00 in the organisation's zone (Paris).
    (enrolment,) = _enrolments(stack, "lou@example.org")
    due = enrolment.next_due_at
    assert due is not None and due - enrolment.entered_at >= timedelta(days=2)
    local = due.replace(tzinfo=UTC).astimezone(ZoneInfo("Europe/Paris"))
    assert (local.hour, local.minute) == (9, 0) and due - enrolment.entered_at < timedelta(days=3)
    early = _offset_until(due, -10 * 60)
    assert "planned=0" in _duty(stack, early)
    _work(stack, early)
    assert _subjects(stack, "lou@example.org")[1:] == ["Bienvenue"]
    late = _offset_until(due, 60)
    assert "planned=1" in _duty(stack, late)
    _work(stack, late)
    assert _subjects(stack, "lou@example.org")[1:] == ["Bienvenue", "Nos conseils"]
    (enrolment,) = _enrolments(stack, "lou@example.org")
    assert (enrolment.status, enrolment.step) == ("completed", 2)
    # A later run sends nothing more.
    assert "planned=0" in _duty(stack, late + DAY)
    sequence = stack.api("GET", f"/sequences/{enrolment.sequence_id}").get_json()
    assert [s["counts"]["sent"] for s in sequence["steps"]] == [1, 1]
    # Each sent step was told to the webhooks' outbox, by public id only.
    stack.session.expire_all()
    told = stack.session.scalars(
        select(OutgoingEvent.payload).where(OutgoingEvent.event_type == "sequence.step_sent")
    ).all()
    stack.session.commit()
    public_id = stack.session.scalar(select(Contact.public_id).where(Contact.email == "lou@example.org"))
    assert [(p["step"], p["contact"]) for p in told] == [(1, public_id), (2, public_id)]
    assert "lou" not in str(told)
    assert sequence["funnel"] == {"entered": 1, "active": 0, "completed": 1, "exited": 0}


def test_a_withdrawal_between_two_steps_stops_the_next_and_a_new_consent_starts_again(stack: Stack) -> None:
    purpose = PurposeFactory(slug="welcome", requires_double_opt_in=True)
    WordingFactory(purpose=purpose)
    stack.session.commit()
    sequence_id = _sequence(stack, "welcome", trigger="consent")
    _sign_up_and_confirm(stack, "lou@example.org")
    _duty(stack)
    _work(stack)
    welcome = [m for m in stack.mail.messages if "lou@example.org" in m.rcpt_tos][-1].message()
    assert welcome["Subject"] == "Bienvenue"

    # The one-click unsubscribe of the first step's message.
    (unsubscribe,) = re.findall(r"<(https://[^>]+)>", welcome["List-Unsubscribe"])
    answer = stack.client.post(urlsplit(unsubscribe).path, data={"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 200
    (enrolment,) = _enrolments(stack, "lou@example.org")
    assert (enrolment.status, enrolment.exit_reason, enrolment.step) == ("exited", "withdrawn", 1)

    for offset in (3 * DAY, 10 * DAY):
        assert "planned=0" in _duty(stack, offset)
        _work(stack, offset)
    assert _subjects(stack, "lou@example.org")[1:] == ["Bienvenue"]
    figures = stack.api("GET", f"/sequences/{sequence_id}").get_json()
    assert [s["counts"]["exited"] for s in figures["steps"]] == [0, 1]

    # A new consent (signed up again, confirmed again) starts the series from its first step.
    _sign_up_and_confirm(stack, "lou@example.org")
    enrolments = _enrolments(stack, "lou@example.org")
    assert [(e.status, e.step) for e in enrolments] == [("exited", 1), ("active", 0)]
    _duty(stack)
    _work(stack)
    assert _subjects(stack, "lou@example.org")[-1] == "Bienvenue"
    assert Counter(_subjects(stack, "lou@example.org"))["Bienvenue"] == 2


def _grant(stack: Stack, public_id: str) -> int:
    """A grant through the API from a client of its own (each thread its own connection)."""
    client = stack.client.application.test_client()
    body = {
        "purpose": "welcome",
        "channel": "email",
        "action": "grant",
        "mechanism": "checkbox",
        "wording_version": 1,
    }
    return client.post(f"/api/v1/contacts/{public_id}/consents", json=body, headers=stack.headers).status_code


def test_two_triggers_at_once_send_each_step_once(stack: Stack) -> None:
    purpose = PurposeFactory(slug="welcome")
    WordingFactory(purpose=purpose)
    people = [ContactFactory(email=f"p{i}@example.org") for i in range(4)]
    stack.session.commit()
    _sequence(stack, "welcome", trigger="consent")

    # Two grants of the same person at the same moment, for each person: one passage each.
    codes: list[int] = []
    threads = [
        threading.Thread(target=lambda p=p: codes.append(_grant(stack, p.public_id)))
        for p in people
        for _ in (0, 1)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert codes == [201] * 8
    assert all(len(_enrolments(stack, p.email)) == 1 for p in people)

    # Two copies of the duty and two workers at once, for each step.
    for offset in (0, 3 * DAY):
        env = {**stack.env, "SENDER_CLOCK_OFFSET": str(offset)}
        duties = [
            subprocess.Popen([SENDER, "sequences", "run"], env=env, stdout=subprocess.DEVNULL) for _ in (0, 1)
        ]
        assert [d.wait(timeout=120) for d in duties] == [0, 0]
        workers = [
            subprocess.Popen(
                [sys.executable, "worker.py", "--burst"],
                cwd=Path(__file__).resolve().parents[2],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for _ in (0, 1)
        ]
        assert [w.wait(timeout=120) for w in workers] == [0, 0]
    for person in people:
        assert sorted(_subjects(stack, person.email)) == [f"Bienvenue {person.first_name}", "Nos conseils"]


def test_a_worker_killed_mid_step_loses_nothing_and_sends_nothing_twice(stack: Stack) -> None:
    stack.env.update({"SMTP_CONNECTIONS": "2", "SEND_CLAIM_SIZE": "8", "SEND_BATCH_SIZE": "100"})
    purpose = PurposeFactory(slug="welcome")
    WordingFactory(purpose=purpose)
    members = ListFactory()
    people = [ContactFactory(email=f"p{i:02d}@example.org") for i in range(20)]
    stack.session.commit()
    for person in people:
        assert _grant(stack, person.public_id) == 201
    _sequence(stack, "welcome", trigger="list", trigger_list_id=members.id)
    added = stack.api("POST", f"/lists/{members.id}/members", {"contact_ids": [p.public_id for p in people]})
    assert added.status_code == 200, added.get_json()
    assert "planned=20" in _duty(stack)

    hold = Hold(free=4, seconds=3)
    stack.mail.script([hold] * 200)
    worker = stack.start_worker()
    _until(lambda: hold.holding(stack), "held two messages")
    started = set(hold.arrived)
    parent = psutil.Process(worker.pid)
    for proc in [*parent.children(recursive=True), parent]:
        proc.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)

    # The sweep settles the dead worker's claims (started: unknown, never resent) and asks for the batch again.
    assert launch.sweep(stack.runtime, lease_seconds=0).stale_batches == 1
    stack.worker()
    _until(lambda: len(hold.arrived) >= len(people), "reached everyone", timeout=60)
    assert len(hold.arrived) == len(people) and Counter(hold.arrived).most_common(1)[0][1] == 1
    stack.session.expire_all()
    statuses = Counter(stack.session.scalars(select(Delivery.status).where(Delivery.round > 0)))
    stack.session.commit()
    unknown = statuses["unknown"]
    assert unknown <= len(started) and statuses == Counter(
        {"sent": len(people) - unknown, "unknown": unknown}
    )
    # Step 2 later reaches everyone, the unknown ones too (their first step's fate is the relay's).
    _duty(stack, 3 * DAY)
    _work(stack, 3 * DAY)
    assert Counter(s for p in people for s in _subjects(stack, p.email))["Nos conseils"] == len(people)
