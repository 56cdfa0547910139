"""`sender serve` alone runs the cron duties (issue 16.4): a started requalification cycle asks its people and,
once the clock has passed its deadline, closes, with no `sender requalify run` from anyone."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from sender.db import utcnow
from sender.models import Campaign, Contact, Requalification
from sender.services.accounts import users
from tests.e2e.conftest import Stack
from tests.factories import ContactFactory, PurposeFactory, WordingFactory
from tests.test_cli import _free_port, _stop_if_running, _wait_for

pytestmark = pytest.mark.e2e

SENDER = str(Path(sys.executable).parent / "sender")
CONFIRM = re.compile(r"https://sender\.test(/requalify/confirm/\S+)")
PEOPLE = ("ada@example.org", "brice@example.org", "chloe@example.org")
DEADLINE_DAYS = 30


def _serve(stack: Stack, folder: Path, log_name: str, **env: str) -> tuple[subprocess.Popen[bytes], Path]:
    """`sender serve` as the README starts it, on the test's database, Redis and SMTP server."""
    log = folder / log_name
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [SENDER, "serve", "--port", str(_free_port())],
            cwd=folder,
            env={**stack.env, "PYTHONUNBUFFERED": "1", **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return proc, log


def _stop(proc: subprocess.Popen[bytes], log: Path) -> None:
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=120) == 0, log.read_text()


def _closed(stack: Stack, campaign_id: int) -> bool:
    with stack.runtime.Session() as session:
        return (
            session.scalar(
                select(Requalification.closed_at).where(Requalification.campaign_id == campaign_id)
            )
            is not None
        )


def test_a_requalification_cycle_finishes_under_sender_serve_alone(stack: Stack, tmp_path: Path) -> None:
    session = stack.session
    purpose = PurposeFactory(slug="newsletter", consent_validity_days=None)
    WordingFactory(purpose=purpose)
    for email in PEOPLE:
        ContactFactory(email=email, is_legacy=True, source="import")
    dpo = users.create_user(session, "dpo@exemple.org", "dpo", "correct horse battery")
    dpo_headers = {"Authorization": f"Bearer {users.issue_token(session, dpo).value}"}
    session.commit()
    created = stack.api(
        "POST",
        "/requalifications",
        {
            "name": "Re-permission",
            "purpose": "newsletter",
            "subject": "Souhaitez-vous continuer à recevoir notre lettre ?",
            "body_text": "Bonjour {{ contact.first_name }},\nvotre accord compte pour nous.\n",
            "deadline": (utcnow() + timedelta(days=DEADLINE_DAYS)).isoformat() + "Z",
        },
    )
    assert created.status_code == 201, created.get_json()
    cid = created.get_json()["campaign_id"]
    assert (
        stack.client.post(
            f"/api/v1/campaigns/{cid}/approval", json={"note": "file 42"}, headers=dpo_headers
        ).status_code
        == 200
    )
    assert stack.api("POST", f"/campaigns/{cid}/send").status_code == 202
    session.commit()  # end every read: on SQLite an open transaction holds the write lock

    # Started, nobody runs `sender requalify run`: serve's own cron asks, its worker sends.
    proc, log = _serve(stack, tmp_path, "serve.log")
    try:
        _wait_for(lambda: len(stack.mail.messages) == len(PEOPLE), proc, log, "sent the questions")
        assert "cron: sender requalify run" in log.read_text()
        _stop(proc, log)
    finally:
        _stop_if_running(proc)
    by_person = {m.rcpt_tos[0]: m.message().get_body(("plain",)).get_content() for m in stack.mail.messages}
    assert sorted(by_person) == sorted(PEOPLE)
    confirm = CONFIRM.search(by_person[PEOPLE[0]])
    assert confirm, by_person[PEOPLE[0]]
    assert stack.client.post(confirm.group(1)).status_code == 200
    assert not _closed(stack, cid)

    # The clock moves past the deadline: serve alone closes the cycle and erases the silent.
    later = str(int(timedelta(days=DEADLINE_DAYS + 1).total_seconds()))
    proc, log = _serve(stack, tmp_path, "serve-later.log", SENDER_CLOCK_OFFSET=later)
    try:
        _wait_for(lambda: _closed(stack, cid), proc, log, "closed the cycle")
        _stop(proc, log)
    finally:
        _stop_if_running(proc)
    with stack.runtime.Session() as check:
        statuses = dict(check.execute(select(Contact.public_id, Contact.status)).all())
        assert sorted(statuses.values()) == ["active", "erased", "erased"]
        assert check.scalar(select(Contact.status).where(Contact.email == PEOPLE[0])) == "active"
        assert check.get(Campaign, cid) is not None
    funnel = stack.api("GET", f"/requalifications/{cid}").get_json()["funnel"]
    assert (funnel["confirmed"], funnel["expired"]["erased"], funnel["waiting"]) == (1, 2, 0)
