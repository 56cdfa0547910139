"""Streamed staff downloads never stall the writers: finished, abandoned midway or still running.

These tests commit for real (the `committed` runtime): with the suite's shared test transaction every
session would use one connection and no lock could ever be seen. A second connection then writes while
waiting half a second at most, as a worker or another page would, and /healthz must still answer.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import insert, select

from sender import create_app
from sender.db import make_engine
from sender.models import Campaign, Contact, Delivery, ImportBatch, ImportReportLine, User
from sender.runtime import Runtime
from sender.services.audience import import_report
from tests import factories
from tests.admin.conftest import post, sign_in
from tests.factories import CampaignFactory, PurposeFactory

# More rows than one streamed chunk of each export (both yield every 2000 rows): a download can stop midway.
ROWS = 2001


@dataclass(frozen=True)
class Live:
    """A signed-in client of an app that commits for real, and the addresses of its two exports."""

    client: FlaskClient
    deliveries: str
    report: str
    database_url: str


@pytest.fixture
def live(committed: Runtime, password_hash: str) -> Iterator[Live]:
    """An admin signed in, a sent campaign with ROWS deliveries and an import batch with ROWS report lines."""
    with committed.Session() as session:
        factories.bind(session)
        session.add(User(email="admin@exemple.org", role="admin", password_hash=password_hash))
        campaign = CampaignFactory(purpose_id=PurposeFactory().id, status="sent")
        session.execute(insert(Contact), [{"email": f"p{n}@example.org"} for n in range(ROWS)])
        contact_ids = session.scalars(select(Contact.id)).all()
        session.execute(
            insert(Delivery),
            [{"campaign_id": campaign.id, "contact_id": c, "status": "sent"} for c in contact_ids],
        )
        batch = ImportBatch(
            status="analysed",
            source="fair",
            legal_basis="consent",
            file_name="a.csv",
            file_sha256="0" * 64,
            created_by="test",
        )
        session.add(batch)
        session.flush()
        session.execute(
            insert(ImportReportLine),
            [{"batch_id": batch.id, "row_no": n, "outcome": "accepted"} for n in range(2, ROWS + 2)],
        )
        session.commit()
        urls = (f"/admin/campaigns/{campaign.id}/deliveries.csv", f"/admin/imports/{batch.id}/report.csv")
    client = create_app({"TESTING": True}, runtime=committed).test_client()
    assert sign_in(client, "admin@exemple.org").status_code == 302
    yield Live(client, *urls, committed.settings.database_url)
    # A session a failed test leaked (and its lock) goes now, before the tables are emptied.
    gc.collect()


def write_elsewhere(url: str) -> None:
    """Take the write lock from another connection and commit, waiting half a second at most."""
    engine = make_engine(url, pool=False)
    raw: Any = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if url.startswith("sqlite"):
            cursor.execute("PRAGMA busy_timeout=500")
            cursor.execute("BEGIN IMMEDIATE")
        else:
            cursor.execute("SET lock_timeout = '500ms'")
        cursor.execute("UPDATE campaigns SET name = name")
        raw.commit() if not url.startswith("sqlite") else cursor.execute("COMMIT")
    finally:
        raw.close()
        engine.dispose()


def assert_nothing_locked(live: Live) -> None:
    """Another connection can write, and the health check answers."""
    write_elsewhere(live.database_url)
    assert live.client.get("/healthz").status_code == 200


@pytest.mark.parametrize("which", ["deliveries", "report"])
def test_finished_downloads_leave_no_lock(live: Live, which: str) -> None:
    url = getattr(live, which)
    for _ in range(2):
        response = live.client.get(url)
        assert response.status_code == 200
        assert response.get_data(as_text=True).count("\n") == ROWS + 1
    assert_nothing_locked(live)


@pytest.mark.parametrize("which", ["deliveries", "report"])
def test_a_download_abandoned_midway_leaves_no_lock(live: Live, which: str) -> None:
    response = live.client.get(getattr(live, which), buffered=False)
    chunks = iter(response.response)
    next(chunks)  # the browser got the first chunk, then the user cancelled
    response.close()
    assert_nothing_locked(live)


@pytest.mark.parametrize("which", ["deliveries", "report"])
def test_a_running_download_does_not_hold_the_write_lock(live: Live, which: str) -> None:
    response = live.client.get(getattr(live, which), buffered=False)
    chunks = iter(response.response)
    first = next(chunks)
    try:
        assert_nothing_locked(live)
        # The export is one consistent read: the rest still arrives after the write.
        rest = b"".join(chunks)
        assert (first + rest).count(b"\n") == ROWS + 1
    finally:
        response.close()


def test_the_report_stream_the_api_sends_holds_no_write_lock(live: Live, committed: Runtime) -> None:
    # The JSON API streams import_report.csv_download: the same rule, checked on the service's generator.
    batch_id = int(live.report.split("/")[-2])
    chunks = import_report.csv_download(committed.Session, batch_id)
    first = next(chunks)
    try:
        write_elsewhere(live.database_url)
        assert (first + "".join(chunks)).count("\n") == ROWS + 1
    finally:
        chunks.close()


def test_pages_and_a_launch_right_after_an_export(live: Live, committed: Runtime) -> None:
    # As a marketer does it: download the deliveries, then keep working at once, sending included.
    assert live.client.get(live.deliveries).status_code == 200
    for page in (
        "/admin/",
        "/admin/contacts",
        "/admin/campaigns",
        f"{live.deliveries[: -len('/deliveries.csv')]}",
    ):
        assert live.client.get(page).status_code == 200, page
    with committed.Session() as session:
        factories.bind(session)
        draft = CampaignFactory(purpose_id=PurposeFactory().id, status="draft")
        session.commit()
        draft_id = draft.id

    sent = post(live.client, f"/admin/campaigns/{draft_id}/send", {"confirm": "yes"}, token_page="/admin/")

    assert sent.status_code in (302, 303), sent.get_data(as_text=True)[:300]
    with committed.Session() as session:
        # An empty audience: planned and closed at once, every write of a launch committed.
        assert session.scalar(select(Campaign.status).where(Campaign.id == draft_id)) == "sent"
    assert_nothing_locked(live)
