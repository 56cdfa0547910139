"""The DPO's pages (issue 16): the register of rights requests, and the queue of cycles awaiting approval."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from sender.db import utcnow
from sender.models import OrganisationSettings, RightsRequest
from sender.runtime import Runtime
from sender.services.campaigns import requalify
from sender.services.rights import requests
from sender.services.rights.requests import EXPORT_FIELDS
from tests.admin.test_requalification_pages import make_cycle
from tests.factories import ContactFactory, PurposeFactory, WordingFactory

ClientAs = Callable[[str], FlaskClient]


@pytest.fixture
def register(db_session: Session) -> dict[str, RightsRequest]:
    """An open request due in about 20 days, an overdue one, and a completed one, linked to a contact."""
    person = ContactFactory(email="jeanne.register@example.org")
    now = utcnow()
    made = {
        "open": requests.open_request(
            db_session,
            kind="access",
            received_via="email",
            actor="user:1",
            received_at=now - timedelta(days=10),
        ),
        "late": requests.open_request(
            db_session,
            kind="erasure",
            received_via="post",
            actor="user:1",
            received_at=now - timedelta(days=40),
        ),
        "done": requests.record_completed(db_session, person, "objection", "withdrawn everywhere", "contact"),
    }
    db_session.commit()
    return made


@pytest.mark.parametrize("role", ["dpo", "admin"])
def test_the_register_lists_kind_deadline_days_left_and_status(
    client_as: ClientAs, register: dict[str, RightsRequest], role: str
) -> None:
    page = client_as(role).get("/admin/rights-requests")

    assert page.status_code == 200
    body = page.get_data(as_text=True)
    for request in register.values():
        assert f'data-request="{request.public_id}"' in body
    left = requests.days_left(register["open"])
    assert 18 <= left <= 21 and f"{left} days" in body
    assert "days late" in body
    assert "jeanne.register@example.org" not in body


def test_the_register_filters_by_status_and_overdue(
    client_as: ClientAs, register: dict[str, RightsRequest]
) -> None:
    client = client_as("dpo")

    completed = client.get("/admin/rights-requests?status=completed").get_data(as_text=True)
    overdue = client.get("/admin/rights-requests?overdue=y").get_data(as_text=True)
    bad = client.get("/admin/rights-requests?status=lost")

    assert register["done"].public_id in completed and register["open"].public_id not in completed
    assert register["late"].public_id in overdue
    assert register["open"].public_id not in overdue and register["done"].public_id not in overdue
    assert bad.status_code == 400 and 'id="status-error"' in bad.get_data(as_text=True)


def test_marketers_may_not_read_or_export_the_register(client_as: ClientAs) -> None:
    marketer = client_as("marketer")

    assert marketer.get("/admin/rights-requests").status_code == 403
    assert marketer.get("/admin/rights-requests.csv").status_code == 403
    assert "/admin/rights-requests" not in marketer.get("/admin/").get_data(as_text=True)


def test_the_export_holds_the_register_with_local_times_and_no_personal_data(
    client_as: ClientAs, db_session: Session, register: dict[str, RightsRequest]
) -> None:
    db_session.add(OrganisationSettings(id=1, timezone="Asia/Tokyo"))
    db_session.commit()

    response = client_as("dpo").get("/admin/rights-requests.csv?overdue=y")

    assert response.status_code == 200 and response.mimetype == "text/csv"
    body = response.get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0] == list(EXPORT_FIELDS)
    assert [r[0] for r in rows[1:]] == [register["late"].public_id]
    row = dict(zip(rows[0], rows[1], strict=True))
    late = register["late"]
    assert row["kind"] == "erasure" and row["status"] == "open" and int(row["days_left"]) < 0
    assert row["received_at"].endswith("+09:00")
    assert row["received_at"][:19] == (late.received_at + timedelta(hours=9)).isoformat(timespec="seconds")
    assert "jeanne.register" not in body


def test_the_dashboard_lists_the_cycles_awaiting_approval(
    client_as: ClientAs, db_session: Session, runtime: Runtime
) -> None:
    purposes = []
    for slug in ("newsletter", "offers"):
        purpose = PurposeFactory(slug=slug)
        WordingFactory(purpose=purpose)
        purposes.append(purpose)
    waiting = make_cycle(db_session, runtime, purposes[0], "user:1")
    approved = make_cycle(db_session, runtime, purposes[1], "user:1")
    approved.name = "Already approved"
    requalify.approve(db_session, runtime.settings, approved.id, "user:2", "ok")
    db_session.commit()

    dpo_page = client_as("dpo").get("/admin/").get_data(as_text=True)
    marketer_page = client_as("marketer").get("/admin/").get_data(as_text=True)

    assert f'href="/admin/requalification/{waiting.id}">{waiting.name}</a>' in dpo_page
    # 17:00 UTC is 18:00 in Paris, the organisation's default zone.
    assert "2099-01-15 18:00 CET" in dpo_page
    assert "Already approved" not in dpo_page
    assert "awaiting-approval" not in marketer_page
