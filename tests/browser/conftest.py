"""Browser fixtures: the web app under gunicorn and `python worker.py`, started as the README says, and
headless Chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sender.runtime import Runtime
from tests.smtp_server import SmtpTestServer

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_answering(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with code {process.returncode}")
        try:
            urllib.request.urlopen(url + "/healthz", timeout=2)
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in {timeout}s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Site:
    """A running deployment: its base URL, its environment and the SMTP server it sends to."""

    url: str
    env: dict[str, str]
    mail: SmtpTestServer
    runtime: Runtime


@pytest.fixture
def site_env() -> dict[str, str]:
    """More environment for the deployment under test; a module overrides it (say, Twilio's stand-in)."""
    return {}


@pytest.fixture
def site(
    committed: Runtime, base_env: dict[str, str], site_env: dict[str, str], tmp_path: Path
) -> Iterator[Site]:
    """gunicorn and one `python worker.py`, on the committing test database, sending to a real SMTP server."""
    if not shutil.which("gunicorn", path=os.path.dirname(sys.executable)) or not os.path.exists(CHROMIUM):
        pytest.fail("gunicorn and Chromium are required for browser tests")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with SmtpTestServer() as mail:
        env = {
            **os.environ,
            **base_env,
            "PUBLIC_BASE_URL": url,
            "SMTP_URL": mail.url,
            "SEND_BATCH_SIZE": "10",
            **site_env,
        }
        env.pop("COVERAGE_PROCESS_START", None)
        gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
        web = subprocess.Popen(
            [
                gunicorn,
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
                "--threads",
                "4",
                "--logger-class",
                "sender.web.access_log.RedactingGunicornLogger",
                "sender:create_app()",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(tmp_path / "web.log").open("wb"),
        )
        worker = subprocess.Popen(
            [sys.executable, "worker.py", "--with-scheduler"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(tmp_path / "worker.log").open("wb"),
        )
        try:
            _wait_answering(url, web)
            yield Site(url, env, mail, committed)
        finally:
            _stop(worker)
            _stop(web)


@pytest.fixture
def page(site: Site) -> Iterator[Any]:
    """A fresh headless Chromium page."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=site.url)
        tab = context.new_page()
        tab.set_default_timeout(20_000)
        try:
            yield tab
        finally:
            context.close()
            browser.close()


def watch_csp(page: Any) -> list[str]:
    """The Content Security Policy violations the page reports on its console, as they come."""
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    return violations


def sign_in(page: Any, email: str, password: str) -> None:
    """Sign in through the staff sign-in form, as a person does, and land on the dashboard."""
    page.goto("/admin/signin")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/admin/")
