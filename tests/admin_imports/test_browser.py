"""In headless Chromium: import a CSV with a bad row, a bad phone and a suppressed address, read the report.

The staff sign-in pages live on another branch; here the browser signs in through the stub of
signin_stub.py, which sets the same Flask-Login session the real sign-in sets.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import sync_playwright
from sqlalchemy import select
from werkzeug.serving import make_server

from sender import create_app
from sender.addresses import address_hash
from sender.models import Contact
from sender.runtime import Runtime
from sender.services.accounts import users
from sender.services.audience import contacts
from tests.admin_imports.signin_stub import add_test_sign_in
from tests.import_helpers import csv_bytes

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
FILE = csv_bytes(
    "Courriel;Prénom;Téléphone",
    "ann@example.org;Ann;06 12 34 56 78",
    "bob@example.org;Bob;12",  # a bad phone in an otherwise good row
    "pas-une-adresse;Bad;",  # a bad row
    "gone@example.org;Gone;",  # a suppressed address
    sep=";",
)


@pytest.fixture
def live_server(committed: Runtime) -> Iterator[str]:
    """The app served over HTTP on a free port, in a thread, on the committed database.

    Files over 4 KB are imported by a job, as large files are in production (IMPORT_INLINE_BYTES).
    """
    runtime = Runtime(
        settings=committed.settings.with_overrides(import_inline_bytes=4096),
        engine=committed.engine,
        Session=committed.Session,
        tokens=committed.tokens,
    )
    app = create_app({"TESTING": True, "SESSION_COOKIE_SECURE": False}, runtime=runtime)
    add_test_sign_in(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def browser() -> Iterator[Any]:
    """Headless Debian Chromium driven by Playwright."""
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def test_import_a_csv_and_read_its_report(committed: Runtime, live_server: str, browser: Any) -> None:
    with committed.Session() as session:
        marketer = users.create_user(
            session, "marketer@exemple.org", "marketer", "correct horse battery staple"
        )
        contacts.suppress(
            session, address_hash(committed.settings.hash_key, "gone@example.org"), "email", "erasure"
        )
        session.commit()
        marketer_id = marketer.id
    page = browser.new_page()
    console_errors: list[str] = []
    page.on("console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None)

    page.goto(f"{live_server}/test/sign-in/{marketer_id}")
    page.set_input_files("#file", files=[{"name": "salon.csv", "mimeType": "text/csv", "buffer": FILE}])
    page.fill("#source", "Salon de Lyon, stand 12")
    page.select_option("#legal_basis", "unknown")
    page.get_by_role("button", name="Upload and check (dry run)").click()
    page.wait_for_url(re.compile(r".*/admin/imports/\d+$"))

    assert page.locator("[data-import-status]").inner_text() == "Dry run ready"
    rows = page.locator("table.report tbody tr")
    cells = [[c.strip() for c in rows.nth(i).locator("td").all_inner_texts()] for i in range(rows.count())]
    assert cells[:3] == [
        ["2", "Row accepted", "", ""],
        ["3", "Row accepted", "", ""],
        ["3", "Row accepted", "Téléphone", "not a valid phone number for its country; field left empty"],
    ]
    assert cells[3][:3] == ["4", "Row refused", "Courriel"]
    assert cells[4][:3] == ["5", "Row refused", "Courriel"] and "suppression list (Erasure)" in cells[4][3]
    assert page.locator("tr[data-counts] td").all_inner_texts() == ["4", "2", "0", "2", "1", "0"]

    page.get_by_role("button", name="Commit the import").click()
    page.wait_for_selector("text=Import committed.")
    assert page.locator("[data-import-status]").inner_text() == "Imported"
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the report (CSV)").click()
    report = open(download.value.path(), encoding="utf-8").read().splitlines()  # noqa: SIM115
    assert report[0] == "row,outcome,column,reason" and len(report) == 6
    assert [e for e in console_errors if "favicon" not in e and "404" not in e] == []  # no CSP violation

    with committed.Session() as session:
        emails = set(session.scalars(select(Contact.email)))
        bob = session.scalar(select(Contact).where(Contact.email == "bob@example.org"))
    assert emails == {"ann@example.org", "bob@example.org"}
    assert bob is not None and bob.phone is None and bob.is_legacy


def test_a_large_import_shows_its_progress_until_the_worker_is_done(
    committed: Runtime, live_server: str, browser: Any, base_env: dict[str, str]
) -> None:
    with committed.Session() as session:
        admin = users.create_user(session, "admin@exemple.org", "admin", "correct horse battery staple")
        session.commit()
        admin_id = admin.id
    big = csv_bytes("email,first_name", *(f"person{i}@example.org,Person {i}" for i in range(20_000)))
    page = browser.new_page()
    page.goto(f"{live_server}/test/sign-in/{admin_id}")
    page.set_input_files("#file", files=[{"name": "big.csv", "mimeType": "text/csv", "buffer": big}])
    page.fill("#source", "old CRM")
    page.select_option("#legal_basis", "unknown")
    page.get_by_role("button", name="Upload and check (dry run)").click()
    page.wait_for_url(re.compile(r".*/admin/imports/\d+$"))
    assert page.locator("[data-import-status]").inner_text() == "Dry run in progress"
    assert page.locator("progress").count() == 1

    worker = subprocess.run(
        [sys.executable, "worker.py", "--burst"],
        cwd=ROOT,
        env={**os.environ, **base_env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert worker.returncode == 0, worker.stderr

    # The page's script polls the progress and reloads itself once the run is over.
    page.wait_for_selector("[data-import-status]:has-text('Dry run ready')", timeout=30_000)
    assert page.locator("tr[data-counts] td").all_inner_texts()[:2] == ["20000", "20000"]
    assert page.locator("progress").count() == 0
