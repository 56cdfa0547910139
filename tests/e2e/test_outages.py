"""Redis outages and workers started as documented: the database remembers what must run, RQ delivers it."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from sender import create_app
from sender.models import Delivery
from sender.runtime import build_runtime
from sender.services.campaigns.launch import OVERDUE_MARGIN_SECONDS
from tests.campaign_helpers import build_audience, let_time_pass_until_due
from tests.e2e.conftest import ROOT, Stack
from tests.queues import QueuedRuntime
from tests.redis_server import PrivateRedis

pytestmark = pytest.mark.e2e

BODY = {
    "name": "Outage",
    "subject": "Hello {{ contact.first_name }}",
    "body_text": "Hello {{ contact.first_name }}.",
}
ADDRESS = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A Redis server of this test's own, which it may stop and start again."""
    with PrivateRedis(tmp_path) as server:
        yield server


@pytest.fixture
def outage(stack: Stack, redis_server: PrivateRedis) -> Iterator[Stack]:
    """The end-to-end stack, on the private Redis."""
    runtime = QueuedRuntime(
        **vars(build_runtime(stack.runtime.settings.with_overrides(redis_url=redis_server.url)))
    )
    app = create_app({"TESTING": True}, runtime=runtime)
    env = {**stack.env, "REDIS_URL": redis_server.url}
    yield Stack(runtime, app.test_client(), stack.headers, stack.session, stack.mail, env)
    runtime.engine.dispose()


def _create(stack: Stack, audience, **extra) -> int:
    body = {**BODY, "purpose": audience.purpose.slug, "lists": [audience.lst.id], **extra}
    response = stack.api("POST", "/campaigns", body)
    assert response.status_code == 201, response.get_json()
    return int(response.get_json()["id"])


def _sweep(stack: Stack) -> subprocess.CompletedProcess[str]:
    """`sender campaigns sweep`, as cron runs it."""
    done = subprocess.run(
        [sys.executable, "-m", "sender.cli", "campaigns", "sweep"],
        cwd=ROOT,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done


def _statuses(stack: Stack, campaign_id: int) -> Counter[str]:
    stack.session.expire_all()
    rows = stack.session.scalars(select(Delivery.status).where(Delivery.campaign_id == campaign_id)).all()
    stack.session.commit()
    return Counter(rows)


def _eligible(stack: Stack, audience, count: int) -> Counter[str]:
    expected = Counter({audience.contacts[f"eligible{i}"].email: 1 for i in range(count)})
    stack.session.commit()  # end the read: on SQLite an open transaction holds the write lock
    return expected


def _recipients(stack: Stack) -> Counter[str]:
    return Counter(r for m in stack.mail.messages for r in m.rcpt_tos)


def _no_addresses(text: str) -> None:
    assert ADDRESS.findall(text) == [], text[-3000:]


def test_send_with_redis_down_answers_503_and_is_sent_once_redis_is_back(outage, redis_server):
    audience = build_audience(outage.session, eligible=3)
    outage.session.commit()
    campaign_id = _create(outage, audience)
    redis_server.stop()

    response = outage.api("POST", f"/campaigns/{campaign_id}/send")

    assert response.status_code == 503, response.get_json()
    assert response.get_json()["error"] == "queue_unavailable"
    assert "Redis" in response.get_json()["message"]
    # The launch is recorded: every planned message waits in the database.
    assert outage.api("GET", f"/campaigns/{campaign_id}").get_json()["status"] == "sending"
    assert _statuses(outage, campaign_id)["queued"] == 3

    redis_server.start()  # empty: everything RQ held is gone
    assert "re-enqueued jobs: 1" in _sweep(outage).stdout
    done = outage.worker()

    assert _recipients(outage) == _eligible(outage, audience, 3)
    assert outage.api("GET", f"/campaigns/{campaign_id}").get_json()["status"] == "sent"
    _no_addresses(done.stdout + done.stderr)


def test_launch_scheduled_while_redis_was_down_is_started_by_the_sweep(outage, redis_server):
    audience = build_audience(outage.session, eligible=2)
    outage.session.commit()
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    campaign_id = _create(outage, audience, scheduled_at=later)
    redis_server.stop()

    response = outage.api("POST", f"/campaigns/{campaign_id}/send")

    assert response.status_code == 503 and "scheduled" in response.get_json()["message"]
    assert outage.api("GET", f"/campaigns/{campaign_id}").get_json()["status"] == "scheduled"
    redis_server.start()
    assert "overdue launches: 0" in _sweep(outage).stdout  # not due yet: nothing happens
    outage.worker()
    assert outage.mail.messages == []

    let_time_pass_until_due(outage, campaign_id, overdue_by=OVERDUE_MARGIN_SECONDS)
    swept = _sweep(outage)
    assert "overdue launches: 1" in swept.stdout
    assert f"overdue by more than {OVERDUE_MARGIN_SECONDS}s" in swept.stderr  # and in the log
    outage.worker()

    assert _recipients(outage) == _eligible(outage, audience, 2)
    assert outage.api("GET", f"/campaigns/{campaign_id}").get_json()["status"] == "sent"


def _start(stack: Stack, args: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, *args], cwd=ROOT, env=stack.env, stdout=out, stderr=subprocess.STDOUT
        )


def _until(condition, what: str, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"never {what}:\n{log.read_text()[-4000:]}")


def _stop(process: subprocess.Popen[bytes], log: Path) -> None:
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0, log.read_text()[-4000:]


def test_worker_started_as_the_dockerfile_says_retries_and_launches_on_time(stack, tmp_path):
    """`python worker.py`, no flag: the scheduler it runs moves a 421 retry and a due launch onto the queue."""
    stack.env["SEND_RETRY_INTERVALS"] = "1"
    audience = build_audience(stack.session, eligible=1)
    stack.session.commit()
    stack.mail.script(["421 4.3.0 try again later"])
    retried = _create(stack, audience)
    assert stack.api("POST", f"/campaigns/{retried}/send").status_code == 202
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    scheduled = _create(stack, audience, scheduled_at=later)
    assert stack.api("POST", f"/campaigns/{scheduled}/send").get_json()["status"] == "scheduled"
    log = tmp_path / "worker.log"
    worker = _start(stack, ["worker.py"], log)
    try:
        _until(lambda: len(stack.mail.messages) == 1, "delivered the retried message", log)
        assert [m.reply[:3] for m in stack.mail.received] == ["421", "250"]
        let_time_pass_until_due(stack, scheduled)
        _until(lambda: len(stack.mail.messages) == 2, "launched the scheduled campaign", log)
    finally:
        _stop(worker, log)

    assert stack.api("GET", f"/campaigns/{retried}").get_json()["status"] == "sent"
    assert stack.api("GET", f"/campaigns/{scheduled}").get_json()["status"] == "sent"
    _no_addresses(log.read_text())


def test_worker_and_sweeper_survive_a_redis_outage(outage, redis_server, tmp_path):
    worker_log, sweeper_log = tmp_path / "worker.log", tmp_path / "sweeper.log"
    worker = _start(outage, ["worker.py"], worker_log)
    sweeper = _start(outage, ["-m", "sender.cli", "campaigns", "sweep", "--every", "1"], sweeper_log)
    try:
        _until(lambda: "Listening on" in worker_log.read_text(), "started", worker_log)
        _until(lambda: "stale batches" in sweeper_log.read_text(), "swept", sweeper_log)
        redis_server.stop()
        _until(lambda: "sweep failed" in sweeper_log.read_text(), "noticed the outage", sweeper_log)
        _until(
            lambda: "could not connect to Redis" in worker_log.read_text(), "noticed the outage", worker_log
        )
        redis_server.start()
        assert worker.poll() is None and sweeper.poll() is None
        swept_before = sweeper_log.read_text().count("stale batches")
        _until(
            lambda: sweeper_log.read_text().count("stale batches") > swept_before, "swept again", sweeper_log
        )

        audience = build_audience(outage.session, eligible=2)
        outage.session.commit()
        campaign_id = _create(outage, audience)
        assert outage.api("POST", f"/campaigns/{campaign_id}/send").status_code == 202
        _until(lambda: len(outage.mail.messages) == 2, "sent after the outage", worker_log)
    finally:
        _stop(sweeper, sweeper_log)
        _stop(worker, worker_log)
    _no_addresses(worker_log.read_text() + sweeper_log.read_text())


def test_a_worker_stopped_while_redis_is_down_stops(outage, redis_server, tmp_path):
    log = tmp_path / "worker.log"
    worker = _start(outage, ["worker.py"], log)
    try:
        _until(lambda: "Listening on" in log.read_text(), "started", log)
        redis_server.stop()
        _until(lambda: "could not connect to Redis" in log.read_text(), "noticed the outage", log)
    finally:
        # Its teardown cannot tell Redis it stops: it says so and exits all the same.
        _stop(worker, log)
    assert "Redis is unreachable" in log.read_text() and "starting again" not in log.read_text()
