"""`sender serve`, started as the README says, loses its embedded Redis: withdrawals are still recorded,
and the server is started again, without a restart of `sender serve`, for the web server and the worker."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pytest
from sqlalchemy.orm import Session

from sender.addresses import address_hash
from sender.config import load_settings
from sender.db import make_engine
from sender.enums import ConsentStatus
from sender.models import ConsentState
from sender.services.consent.links import unsubscribe_token
from sender.tokens import TokenService
from tests import factories
from tests.campaign_helpers import grant
from tests.test_cli import _embedded_redis_pid, _free_port, _stop_if_running

pytestmark = pytest.mark.e2e

EMAIL = "camille.martin@example.org"


def _sender_serve(folder: Path, port: int) -> tuple[subprocess.Popen[bytes], Path]:
    """`sender serve --port P` in an empty folder: no database, Redis or keys configured (the README's run)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEYS", "HASH_KEY", "SMTP_URL", "INSTANCE_PATH"}
        and not key.startswith("TEST_")
    }
    # The organisation's identity, which system emails (the portal link) need, given as an operator may.
    env.update(PYTHONUNBUFFERED="1", EMAIL_FROM="news@example.org", ORG_NAME="Exemple SAS")
    command = shutil.which("sender", path=str(Path(sys.executable).parent)) or "sender"
    log = folder / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [command, "serve", "--port", str(port)], cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    return proc, log


def _until(condition: Callable[[], Any], proc: subprocess.Popen[bytes], log: Path, what: str) -> Any:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"sender serve exited:\n{log.read_text()}"
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"never {what}:\n{log.read_text()[-4000:]}")


def _call(url: str, data: bytes | None = None) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_serve_restarts_its_killed_redis_and_withdrawals_never_wait_for_it(tmp_path: Path) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    proc, log = _sender_serve(tmp_path, port)
    try:
        _until(lambda: "Press Ctrl-C to stop." in log.read_text(), proc, log, "printed its banner")
        settings = load_settings({"INSTANCE_PATH": str(tmp_path / "instance")})
        tokens = TokenService(settings.secret_keys)
        with Session(make_engine(settings.database_url, pool=False)) as session:
            factories.bind(session)
            purpose = factories.PurposeFactory()
            factories.WordingFactory(purpose=purpose)
            contact = factories.ContactFactory(email=EMAIL, email_hash=address_hash(settings.hash_key, EMAIL))
            grant(session, contact, purpose)
            session.commit()
            key = (contact.id, purpose.id, "email")
        link = f"{base}/u/{unsubscribe_token(tokens, contact.public_id, purpose.id, 'email', None)}"
        killed = _embedded_redis_pid(log.read_text())

        os.kill(killed, signal.SIGKILL)
        answer, _ = _call(link, b"List-Unsubscribe=One-Click")

        assert answer == 200
        with Session(make_engine(settings.database_url, pool=False)) as session:
            state = session.get(ConsentState, key)
            assert state is not None and state.status == ConsentStatus.WITHDRAWN
        _until(lambda: "embedded Redis exited; restarting in" in log.read_text(), proc, log, "noticed")
        _until(lambda: _call(f"{base}/healthz")[0] == 200, proc, log, "answered /healthz with 200 again")
        assert json.loads(_call(f"{base}/healthz")[1]) == {"database": "ok", "redis": "ok"}
        restarted = _embedded_redis_pid(log.read_text())
        assert restarted != killed
        # The worker reconnected too: a portal link asked for now is written to the outbox.
        outbox = tmp_path / "instance" / "outbox"
        assert _call(f"{base}/access", f"email={EMAIL}".encode())[0] == 200
        _until(lambda: list(outbox.glob("*.eml")), proc, log, "sent the portal link")

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=90) == 0, log.read_text()
    finally:
        children = psutil.Process(proc.pid).children(recursive=True) if proc.poll() is None else []
        _stop_if_running(proc)
        psutil.wait_procs(children, timeout=10)
    assert "sender stopped." in log.read_text()
    # The Redis started again is shut down with everything else, as the first one would have been.
    deadline = time.monotonic() + 10
    while psutil.pid_exists(restarted) and psutil.Process(restarted).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "the restarted Redis outlived sender serve"
        time.sleep(0.1)
