"""Prometheus metrics: a campaign launched through gunicorn, sent by a real worker, scraped from /metrics."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from sender.models import Delivery
from tests.campaign_helpers import build_audience
from tests.e2e.conftest import ROOT, Stack
from tests.factories import ContactFactory
from tests.redis_server import _free_port

pytestmark = pytest.mark.e2e

TOKEN = "metrics-token-0123456789"
STARTUP_SECONDS = 120


@dataclass
class Web:
    """gunicorn serving the app, as the Dockerfile runs it, with metrics on."""

    url: str
    env: dict[str, str]
    folder: Path

    def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        """An HTTP request; (status, body as text)."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def scrape(self) -> tuple[str, dict[tuple[str, frozenset[tuple[str, str]]], float]]:
        """GET /metrics with the token: the text, and each sample's value by (name, labels)."""
        status, text = self.call("GET", "/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert status == 200, text[:300]
        samples = {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }
        return text, samples


@pytest.fixture
def web(stack: Stack, tmp_path: Path) -> Iterator[Web]:
    """gunicorn with two workers on a free port; the worker runs later with the same metrics folder."""
    folder = tmp_path / "metrics"
    env = {
        **stack.env,
        "METRICS_TOKEN": TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(folder),
        # A rate limit the messages never reach: each still asks for its permit, which the metrics time.
        "SMTP_MAX_RATE": "1000/s",
    }
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2",
         "-c", "python:sender.web.gunicorn_conf", "sender:create_app()"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    served = Web(f"http://127.0.0.1:{port}", env, folder)
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        try:
            if served.call("GET", "/healthz")[0] == 200:
                break
        except OSError:
            pass
        assert process.poll() is None and time.monotonic() < deadline, "gunicorn did not answer"
        time.sleep(0.1)
    yield served
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=60)


def _value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_a_campaign_moves_the_counters_by_what_it_did(stack: Stack, web: Web) -> None:
    audience = build_audience(stack.session, eligible=5)
    newcomer = ContactFactory()
    stack.session.commit()
    created = stack.api(
        "POST",
        "/campaigns",
        {"name": "Counted", "purpose": audience.purpose.slug, "lists": [audience.lst.id], "subject": "Hi",
         "body_text": "Hello."},
    )  # fmt: skip
    campaign_id = created.get_json()["id"]
    stack.mail.script(["550 5.1.1 no such user"])  # the first message is refused for good

    # A consent recorded and a launch made through gunicorn: their counters live in its processes' files.
    grant = {"purpose": audience.purpose.slug, "channel": "email", "action": "grant", "source": "form",
             "mechanism": "checkbox", "wording_version": 1}  # fmt: skip
    assert web.call("POST", f"/api/v1/contacts/{newcomer.public_id}/consents", grant, stack.headers)[0] == 201
    assert web.call("POST", f"/api/v1/campaigns/{campaign_id}/send", None, stack.headers)[0] == 202

    stack.session.expire_all()
    rows = stack.session.execute(
        select(Delivery.status, Delivery.reason, Delivery.batch_no).where(Delivery.campaign_id == campaign_id)
    ).all()
    stack.session.commit()
    planned_skips = Counter(row.reason for row in rows if row.status == "skipped")
    _, during = web.scrape()
    # Launched, not sent yet: its batch waits on the queue; the planner's skips are counted by reason.
    assert _value(during, "sender_queue_jobs", queue="email", state="queued") == 1
    assert _value(during, "sender_queue_up") == 1
    for reason, count in planned_skips.items():
        assert (
            _value(during, "sender_messages_total", channel="email", outcome="skipped", reason=reason)
            == count
        )
    assert _value(during, "sender_messages_total", channel="email", outcome="sent", reason="none") == 0
    assert _value(during, "sender_consent_events_total", channel="email", action="grant", source="form") == 1

    done = subprocess.run(
        [sys.executable, "worker.py", "--burst"], cwd=ROOT, env=web.env, capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]

    stack.session.expire_all()
    outcomes = Counter(
        (row.status, row.reason)
        for row in stack.session.execute(
            select(Delivery.status, Delivery.reason).where(Delivery.campaign_id == campaign_id)
        )
    )
    stack.session.commit()
    assert outcomes[("sent", None)] == 4 and sum(n for (s, _), n in outcomes.items() if s == "failed") == 1
    ((_, failed_reason),) = [key for key in outcomes if key[0] == "failed"]
    text, after = web.scrape()
    assert _value(after, "sender_messages_total", channel="email", outcome="sent", reason="none") == 4
    assert (
        _value(after, "sender_messages_total", channel="email", outcome="failed", reason=failed_reason) == 1
    )
    for reason, count in planned_skips.items():
        assert (
            _value(after, "sender_messages_total", channel="email", outcome="skipped", reason=reason) == count
        )
    # Five messages went to the relay: each waited for a permit and was timed; one batch ran.
    assert _value(after, "sender_send_seconds_count", channel="email") == 5
    assert _value(after, "sender_rate_limit_wait_seconds_count", channel="email") == 5
    assert _value(after, "sender_batch_seconds_count", channel="email") == 1
    assert _value(after, "sender_queue_jobs", queue="email", state="queued") == 0
    assert _value(after, "sender_scheduled_job_lag_seconds", queue="email") == 0
    # Counts only: no address, name or token in the text.
    for contact in [*audience.contacts.values(), newcomer]:
        assert contact.email is None or contact.email not in text
    assert TOKEN not in text
    # The worker and its work horse have ended: their values were folded into the totals, files gone.
    leftovers = [
        path.name
        for path in web.folder.glob("*.db")
        if not path.stem.endswith("_folded") and not psutil.pid_exists(int(path.stem.rsplit("_", 1)[1]))
    ]
    assert leftovers == []
