"""A send interrupted by a killed worker, a stopped worker or a database outage, through real processes.

The relay holds two messages (one per connection) long enough to interrupt the worker while exactly those
two have started: whatever else the batch had claimed had not. At most once holds throughout, a delivery
is `unknown` only if its message reached the relay, and everything else is sent exactly once.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from sender.db import utcnow
from sender.models import Contact, Delivery
from sender.services.campaigns import launch
from tests.campaign_helpers import build_audience
from tests.e2e.conftest import ROOT, Stack
from tests.smtp_server import Received, Reply
from tests.tcp_proxy import TcpProxy

pytestmark = pytest.mark.e2e

ELIGIBLE = 30
CONNECTIONS = 2
BODY = {"name": "Interrupted", "subject": "Hello {{ contact.first_name }}", "body_text": "Hello."}


class Hold:
    """Relay script: answers at once, except messages free+1 … free+CONNECTIONS, whose replies wait."""

    def __init__(self, free: int, seconds: float) -> None:
        self.free, self.seconds = free, seconds
        self.arrived: list[str] = []  # recipients whose message reached the end of DATA, in order
        self._lock = threading.Lock()

    def __call__(self, received: Received) -> Reply:
        with self._lock:
            self.arrived.extend(received.rcpt_tos)
            n = len(self.arrived)
        return Reply(None, delay=self.seconds if self.free < n <= self.free + CONNECTIONS else 0)

    def holding(self, stack: Stack) -> bool:
        """Whether both connections wait on a held reply: nothing else of the batch has started."""
        return len(self.arrived) == self.free + CONNECTIONS and len(stack.mail.received) == self.free


@pytest.fixture
def interrupted(stack: Stack) -> Iterator[tuple[Stack, Hold, int]]:
    """A launched campaign to 30 people, workers with two connections and claims of 8, the relay holding."""
    stack.env.update({"SMTP_CONNECTIONS": str(CONNECTIONS), "SEND_CLAIM_SIZE": "8"})
    audience = build_audience(stack.session, eligible=ELIGIBLE)
    stack.session.commit()
    body = {**BODY, "purpose": audience.purpose.slug, "lists": [audience.lst.id]}
    campaign_id = stack.api("POST", "/campaigns", body).get_json()["id"]
    hold = Hold(free=4, seconds=3)
    stack.mail.script([hold] * 200)
    assert stack.api("POST", f"/campaigns/{campaign_id}/send").status_code == 202
    yield stack, hold, campaign_id


def _until(condition: Callable[[], bool], what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never {what}")
        time.sleep(0.02)


def _rows(stack: Stack, campaign_id: int) -> dict[str, Delivery]:
    """The campaign's sendable deliveries, by address."""
    stack.session.expire_all()
    rows = stack.session.execute(
        select(Contact.email, Delivery)
        .join(Delivery, Delivery.contact_id == Contact.id)
        .where(Delivery.campaign_id == campaign_id, Delivery.status != "skipped")
    ).all()
    stack.session.commit()  # end the read: on SQLite an open transaction holds the write lock
    return {email: row for email, row in rows}


def _statuses(rows: dict[str, Delivery]) -> Counter[str]:
    return Counter(d.status for d in rows.values())


def _each_once(stack: Stack, hold: Hold) -> None:
    """Every eligible person's message reached the relay exactly once (a killed worker's held message too)."""
    _until(lambda: len(hold.arrived) >= ELIGIBLE, "reached everyone", timeout=60)
    assert Counter(hold.arrived) == Counter(dict.fromkeys(hold.arrived, 1))
    assert len(hold.arrived) == ELIGIBLE


def test_a_killed_worker_leaves_unknown_only_what_had_started_and_the_rest_is_sent_once(interrupted):
    stack, hold, campaign_id = interrupted
    worker = stack.start_worker()
    _until(lambda: hold.holding(stack), "held two messages")
    started, held = set(hold.arrived), set(hold.arrived[hold.free :])
    parent = psutil.Process(worker.pid)
    for proc in [*parent.children(recursive=True), parent]:
        proc.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)

    # Within the lease nothing is decided: the claims may still belong to a live worker.
    assert launch.sweep(stack.runtime).stale_batches == 0
    claimed = {e for e, d in _rows(stack, campaign_id).items() if d.status == "sending"}
    assert claimed > held  # the batch had claimed more than the two messages it had started
    assert launch.sweep(stack.runtime, lease_seconds=0).stale_batches == 1
    rows = _rows(stack, campaign_id)
    unknown = {e for e, d in rows.items() if d.status == "unknown"}
    assert unknown <= started
    assert {rows[e].status for e in claimed - started} == {"queued"}
    assert {rows[e].attempts for e in claimed - started} == {0}

    stack.worker()  # a later batch sends the untouched claims

    _each_once(stack, hold)
    rows = _rows(stack, campaign_id)
    assert {e for e, d in rows.items() if d.status == "unknown"} == unknown
    assert _statuses(rows) == Counter({"sent": ELIGIBLE - len(unknown), "unknown": len(unknown)})


@pytest.fixture
def start_worker(stack: Stack) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start `python worker.py` as a deployment runs it; whatever is still running at the end is killed."""
    started: list[subprocess.Popen[bytes]] = []

    def start(log: Path, **env: str) -> subprocess.Popen[bytes]:
        with log.open("wb") as out:
            started.append(
                subprocess.Popen(
                    [sys.executable, "worker.py"],
                    cwd=ROOT,
                    env={**stack.env, **env},
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        return started[-1]

    yield start
    for worker in started:
        if worker.poll() is None:
            for proc in [*psutil.Process(worker.pid).children(recursive=True), psutil.Process(worker.pid)]:
                proc.kill()
            worker.wait(timeout=10)


def test_a_worker_told_to_stop_claims_and_starts_nothing_more_and_gives_the_rest_back(
    interrupted, start_worker, tmp_path
):
    stack, hold, campaign_id = interrupted
    log = tmp_path / "worker.log"
    worker = start_worker(log)
    _until(lambda: hold.holding(stack), "held two messages")
    told = utcnow()
    started = len(hold.arrived)

    worker.send_signal(signal.SIGTERM)

    assert worker.wait(timeout=60) == 0, log.read_text()[-4000:]
    rows = _rows(stack, campaign_id)
    assert len(hold.arrived) == started  # nothing started after the stop
    assert max(d.claimed_at for d in rows.values() if d.claimed_at) < told  # nothing claimed after it
    # What started is recorded, what was only claimed is back in the queue: nothing waits for a lease.
    assert _statuses(rows) == Counter({"sent": started, "queued": ELIGIBLE - started})
    assert {d.attempts for d in rows.values() if d.status == "queued"} <= {0}

    stack.worker()

    _each_once(stack, hold)
    assert _statuses(_rows(stack, campaign_id)) == Counter({"sent": ELIGIBLE})


def _sqlite_lock(url: str) -> Callable[[], None]:
    """Hold SQLite's write lock from another connection (its outage: every writer gets "database is locked")."""
    conn = sqlite3.connect(make_url(url).database or "", isolation_level=None, check_same_thread=False)
    conn.execute("BEGIN EXCLUSIVE")

    def release() -> None:
        conn.execute("ROLLBACK")
        conn.close()

    return release


def test_outcomes_of_a_database_outage_are_written_when_the_database_returns(
    interrupted, start_worker, tmp_path
):
    stack, hold, campaign_id = interrupted
    url = stack.env["DATABASE_URL"]
    log = tmp_path / "worker.log"
    sqlite = url.startswith("sqlite")
    parsed = make_url(url)
    with TcpProxy(parsed.host or "127.0.0.1", parsed.port or 5432) as proxy:
        # SQLite: the worker waits 2 s for a lock (the URL's timeout), not 30, so the outage is short too.
        through = (
            parsed.update_query_dict({"timeout": "2"}).render_as_string()
            if sqlite
            else parsed.set(port=proxy.port).render_as_string(hide_password=False)
        )
        worker = start_worker(log, DATABASE_URL=through)
        _until(lambda: hold.holding(stack), "held two messages")
        # The outage begins while two messages are on the wire; their replies come during it.
        if sqlite:
            release = _sqlite_lock(url)
            # As a long import commit would: longer than two busy timeouts (2 s each), so that a write fails,
            # and so does the one that follows it, rather than only waiting.
            time.sleep(6)
            release()
        else:
            proxy.down()
            time.sleep(12)
            proxy.up()
        _until(lambda: len(stack.mail.received) == ELIGIBLE, "sent everything", timeout=120)
        _until(lambda: _statuses(_rows(stack, campaign_id))["sent"] == ELIGIBLE, "recorded everything")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=60) == 0, log.read_text()[-4000:]

    _each_once(stack, hold)
    assert _statuses(_rows(stack, campaign_id)) == Counter({"sent": ELIGIBLE})
    assert "the database is unreachable" in log.read_text()
