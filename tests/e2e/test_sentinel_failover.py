"""Redis Sentinel failover in the middle of a campaign: real master, replica and Sentinels, a real worker.

PostgreSQL backend only: the worker, the sweeper and the web app are separate processes writing at once,
and the claims that keep a message from leaving twice are PostgreSQL's `FOR UPDATE SKIP LOCKED`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from sender import create_app
from sender.models import Campaign, Contact, Delivery, ListMember
from sender.runtime import build_runtime
from sender.services.consent.links import unsubscribe_token
from tests.campaign_helpers import grant
from tests.e2e.conftest import ROOT, Stack
from tests.factories import ContactFactory, ListFactory, PurposeFactory, WordingFactory
from tests.queues import QueuedRuntime
from tests.sentinel_cluster import SentinelCluster
from tests.smtp_server import Reply

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not os.environ.get("TEST_DATABASE_URL"), reason="PostgreSQL backend only (TEST_DATABASE_URL)"
    ),
]

FIRST = 60  # contacts of the campaign running when the master dies: 6 batches of 10
SECOND = 5  # contacts of the campaign launched during the failover, plus one who withdraws then
DONE_SECONDS = 300


def _until(condition: Callable[[], bool], what: str) -> None:
    """Wait for a condition; the deadline only turns a hang into a failure."""
    deadline = time.monotonic() + DONE_SECONDS
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[SentinelCluster]:
    """One master, one replica, three Sentinels of this test's own."""
    with SentinelCluster(tmp_path) as servers:
        yield servers


@pytest.fixture
def failover(stack: Stack, cluster: SentinelCluster) -> Iterator[Stack]:
    """The end-to-end stack on the Sentinels' master, one message at a time to a slow relay."""
    tuned = stack.runtime.settings.with_overrides(redis_url=cluster.url)
    runtime = QueuedRuntime(**vars(build_runtime(tuned)))
    app = create_app({"TESTING": True}, runtime=runtime)
    env = {**stack.env, "REDIS_URL": cluster.url, "SMTP_CONNECTIONS": "1", "SEND_LEASE_SECONDS": "30"}
    # Every message waits 0.2 s at the relay: the campaign lasts well beyond the failover.
    stack.mail.script([Reply(delay=0.2)] * (FIRST + SECOND + 10))
    yield Stack(runtime, app.test_client(), stack.headers, stack.session, stack.mail, env)
    runtime.engine.dispose()


def _daemon(stack: Stack, *argv: str) -> subprocess.Popen[bytes]:
    """A long-running sender process in its own group, as a deployment runs it."""
    return subprocess.Popen(
        [sys.executable, *argv],
        cwd=ROOT,
        env=stack.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _campaign(stack: Stack, purpose_slug: str, list_id: int) -> int:
    body = {
        "name": "Failover",
        "purpose": purpose_slug,
        "lists": [list_id],
        "subject": "Hi",
        "body_text": "Hi.",
    }
    response = stack.api("POST", "/campaigns", body)
    assert response.status_code == 201, response.get_json()
    return int(response.get_json()["id"])


def _count(stack: Stack, campaign_id: int, *where: object) -> int:
    stack.session.expire_all()
    found = stack.session.scalar(
        select(func.count()).select_from(Delivery).where(Delivery.campaign_id == campaign_id, *where)
    )
    stack.session.commit()
    return int(found or 0)


def _status(stack: Stack, campaign_id: int) -> str:
    stack.session.expire_all()
    status = stack.session.scalar(select(Campaign.status).where(Campaign.id == campaign_id))
    stack.session.commit()
    return str(status)


def test_sending_survives_the_loss_of_the_redis_master(failover: Stack, cluster: SentinelCluster) -> None:
    stack, session = failover, failover.session
    purpose = PurposeFactory()
    WordingFactory(purpose=purpose)
    first, second = ListFactory(), ListFactory()
    people: list[Contact] = []
    session.flush()
    for lst, count in ((first, FIRST), (second, SECOND + 1)):
        for _ in range(count):
            contact = ContactFactory()
            grant(session, contact, purpose)
            session.add(ListMember(list_id=lst.id, contact_id=contact.id))
            people.append(contact)
    leaver = people[-1]  # on the second list only
    session.commit()
    first_id = _campaign(stack, purpose.slug, first.id)
    second_id = _campaign(stack, purpose.slug, second.id)
    link = f"/u/{unsubscribe_token(stack.runtime.tokens, leaver.public_id, purpose.id, 'email', None)}"
    old_master = cluster.master()
    worker = _daemon(stack, "worker.py")
    sweeper = _daemon(stack, "-m", "sender.cli", "campaigns", "sweep", "--every", "1")
    try:
        assert stack.api("POST", f"/campaigns/{first_id}/send").status_code == 202
        stack.mail.wait_for(5, timeout=DONE_SECONDS)
        # The first batch is on the wire and the five others wait on the queue of the master about to die.
        assert _count(stack, first_id, Delivery.batch_no >= 1, Delivery.status != "queued") == 0

        cluster.kill_master()
        # During the failover: a withdrawal (written to PostgreSQL, never waiting on Redis) and a launch
        # (recorded in PostgreSQL; its batch reaches the queue now, or through the sweep once a master is back).
        withdrawal = stack.client.post(link, data={"List-Unsubscribe": "One-Click"})
        launch = stack.api("POST", f"/campaigns/{second_id}/send")
        assert withdrawal.status_code == 200, withdrawal.get_data(as_text=True)[:300]
        assert launch.status_code in (202, 503), launch.get_json()

        cluster.wait_for_failover()
        assert cluster.master() == cluster.replica_port != old_master
        _until(
            lambda: _status(stack, first_id) == "sent" and _status(stack, second_id) == "sent",
            "both campaigns finish on the new master",
        )
    finally:
        _stop(worker)
        _stop(sweeper)

    received = Counter(rcpt for message in stack.mail.messages for rcpt in message.rcpt_tos)
    session.expire_all()
    outcomes = {
        (row.campaign_id, row.contact_id): row.status
        for row in session.execute(select(Delivery.campaign_id, Delivery.contact_id, Delivery.status))
    }
    # Nobody got a message twice; every message left is recorded sent, or unknown if its answer was lost.
    assert max(received.values()) == 1, received.most_common(3)
    for contact in people[:FIRST]:
        status = outcomes[(first_id, contact.id)]
        assert status in ("sent", "unknown")
        assert received[contact.email] == (1 if status == "sent" else received[contact.email])
    for contact in people[FIRST:-1]:
        assert outcomes[(second_id, contact.id)] in ("sent", "unknown")
    # The withdrawal made while no master answered held: the launch planned after it left her out.
    assert outcomes[(second_id, leaver.id)] == "skipped"
    assert received[leaver.email] == 0
    assert sum(1 for status in outcomes.values() if status == "sent") == sum(received.values())
