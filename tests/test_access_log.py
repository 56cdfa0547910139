"""Signed link tokens never reach an access log, in `sender serve` or under gunicorn."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from sender.tokens import TokenService
from sender.web.access_log import redact
from tests.e2e.conftest import ROOT


def _token() -> str:
    return TokenService(["k" * 32]).dumps(
        "unsubscribe", {"c": "AbCdEfGhIjKlMnOpQrStUv", "p": 1, "ch": "email"}
    )


def test_redact_hides_tokens_and_keeps_the_rest() -> None:
    token = _token()
    line = f"POST /u/{token} HTTP/1.1"
    assert redact(line) == "POST /u/[redacted] HTTP/1.1"
    assert redact("GET /api/v1/contacts/AbCdEfGhIjKlMnOpQrStUv HTTP/1.1").endswith(
        "AbCdEfGhIjKlMnOpQrStUv HTTP/1.1"
    )


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _hit(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(url)


def test_gunicorn_access_log_has_no_token(tmp_path: Path, base_env: dict[str, str], settings) -> None:
    token = _token()
    port = _free_port()
    log = tmp_path / "access.log"
    env = {**base_env, "PATH": str(Path(sys.executable).parent), "REDIS_URL": settings.redis_url or ""}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--access-logfile",
            str(log),
            "--logger-class",
            "sender.web.access_log.RedactingGunicornLogger",
            "sender:create_app()",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _hit(f"http://127.0.0.1:{port}/u/{token}?email=jeanne@example.org")
        deadline = time.monotonic() + 10
        while "/u/" not in (log.read_text() if log.exists() else "") and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        server.terminate()
        server.wait(timeout=30)
    text = log.read_text()
    assert "/u/[redacted]" in text
    assert token not in text
    assert "jeanne" not in text
