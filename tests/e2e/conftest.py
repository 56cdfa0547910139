"""End-to-end fixtures: a committed database, a real SMTP server and real `worker.py` processes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from sender import create_app
from sender.config import Settings
from sender.runtime import Runtime, build_runtime
from sender.services.accounts import users
from tests import factories
from tests.queues import QueuedRuntime
from tests.smtp_server import SmtpTestServer

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Stack:
    """Everything an end-to-end test drives: API client, database session, SMTP server, worker env."""

    runtime: Runtime
    client: FlaskClient
    headers: dict[str, str]
    session: Session
    mail: SmtpTestServer
    env: dict[str, str] = field(default_factory=dict)

    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """Call the JSON API with the marketer's token."""
        return self.client.open(f"/api/v1{path}", method=method, json=body, headers=self.headers)

    def worker(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run `python worker.py --burst` to completion, as a deployment would start it."""
        done = subprocess.run(
            [sys.executable, "worker.py", "--burst", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done

    def sweep(self) -> str:
        """Run `sender campaigns sweep` once, as cron does; what it printed."""
        done = subprocess.run(
            [sys.executable, "-m", "sender.cli", "campaigns", "sweep"],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    def start_worker(self) -> subprocess.Popen[str]:
        """Start a burst worker in its own process group (so a test can kill it and its work-horse)."""
        return subprocess.Popen(
            [sys.executable, "worker.py", "--burst"],
            cwd=ROOT,
            env=self.env,
            text=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )


@pytest.fixture
def mail() -> Iterator[SmtpTestServer]:
    """A real SMTP server for this test."""
    with SmtpTestServer() as server:
        yield server


@pytest.fixture
def stack(
    committed: Runtime, settings: Settings, base_env: dict[str, str], mail: SmtpTestServer
) -> Iterator[Stack]:
    """The app on a committing database, sending to `mail`, with small batches to exercise batching."""
    tuned = settings.with_overrides(smtp_url=mail.url, send_batch_size=10, send_claim_size=3)
    runtime = QueuedRuntime(**vars(build_runtime(tuned)))
    session = runtime.Session()
    factories.bind(session)
    user = users.create_user(session, "ops@exemple.org", "marketer", "correct horse battery")
    token = users.issue_token(session, user).value
    session.commit()
    env = {
        **os.environ,
        **base_env,
        "SMTP_URL": mail.url,
        "SEND_BATCH_SIZE": "10",
        "SEND_CLAIM_SIZE": "3",
    }
    env.pop("COVERAGE_PROCESS_START", None)
    app = create_app({"TESTING": True}, runtime=runtime)
    yield Stack(runtime, app.test_client(), {"Authorization": f"Bearer {token}"}, session, mail, env)
    session.close()
    runtime.engine.dispose()
