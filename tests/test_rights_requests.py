"""The rights-requests register (R39): deadlines, extensions, the DPO's API, `sender requests overdue`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.cli.main import cli
from sender.db import utcnow
from sender.models import AddressChange, Contact, UsedToken
from sender.runtime import Runtime
from sender.services.accounts import users
from sender.services.errors import Conflict, ValidationFailed
from sender.services.rights import requests
from tests.factories import ContactFactory


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (datetime(2027, 1, 31, 10), datetime(2027, 2, 28, 10)),
        (datetime(2028, 1, 31, 10), datetime(2028, 2, 29, 10)),
        (datetime(2027, 3, 15, 9), datetime(2027, 4, 15, 9)),
        (datetime(2027, 12, 31, 23), datetime(2028, 1, 31, 23)),
    ],
)
def test_due_one_calendar_month_after_receipt(received: datetime, due: datetime) -> None:
    assert requests.add_months(received, 1) == due


def test_extension_needs_a_reason_told_within_the_first_month(db_session: Session) -> None:
    received = utcnow() - timedelta(days=10)
    item = requests.open_request(
        db_session, kind="access", received_via="post", actor="dpo", received_at=received
    )

    with pytest.raises(ValidationFailed) as missing:
        requests.extend(db_session, item, {"months": 2}, "dpo")
    assert set(missing.value.errors) == {"reason", "notified_at"}
    with pytest.raises(ValidationFailed) as late:
        requests.extend(db_session, item, {"months": 2, "reason": "many records", "notified_at": (item.due_at + timedelta(days=1)).isoformat()}, "dpo")  # fmt: skip
    assert "notified_at" in late.value.errors
    with pytest.raises(ValidationFailed):
        requests.extend(
            db_session, item, {"months": 3, "reason": "x", "notified_at": utcnow().isoformat()}, "dpo"
        )

    requests.extend(
        db_session, item, {"months": 2, "reason": "many records", "notified_at": utcnow().isoformat()}, "dpo"
    )
    assert item.extended_due_at == requests.add_months(item.due_at, 2)
    with pytest.raises(Conflict):
        requests.extend(
            db_session, item, {"months": 1, "reason": "again", "notified_at": utcnow().isoformat()}, "dpo"
        )


def _headers(session: Session, role: str) -> dict[str, str]:
    user = users.create_user(session, f"{role}@exemple.org", role, "correct horse battery")
    issued = users.issue_token(session, user)
    session.commit()
    return {"Authorization": f"Bearer {issued.value}"}


def test_the_dpo_keeps_the_register_through_the_api(client: FlaskClient, db_session: Session) -> None:
    dpo, marketer = _headers(db_session, "dpo"), _headers(db_session, "marketer")
    contact = ContactFactory()
    db_session.commit()
    body: dict[str, Any] = {"kind": "erasure", "received_via": "post", "received_at": "2026-01-31T09:00:00Z",
                            "contact_id": contact.public_id}  # fmt: skip

    assert client.post("/api/v1/requests", json=body, headers=marketer).status_code == 403
    created = client.post("/api/v1/requests", json=body, headers=dpo)
    assert created.status_code == 201, created.get_json()
    item = created.get_json()
    assert item["due_at"] == "2026-02-28T09:00:00Z" and item["overdue"] is True
    assert item["contact_id"] == contact.public_id

    # The register names people and what they asked: the DPO reads it, a marketer may not.
    assert client.get("/api/v1/requests?overdue=true", headers=marketer).status_code == 403
    listed = client.get("/api/v1/requests?overdue=true", headers=dpo).get_json()["items"]
    assert [i["id"] for i in listed] == [item["id"]]
    closed = client.post(
        f"/api/v1/requests/{item['id']}/close", json={"status": "completed", "outcome": "erased"}, headers=dpo
    )
    assert closed.status_code == 200 and closed.get_json()["overdue"] is False
    assert client.get("/api/v1/requests?overdue=true", headers=dpo).get_json()["items"] == []

    bad = client.post(
        "/api/v1/requests",
        json={"kind": "gossip", "received_via": "pigeon", "received_at": "soon"},
        headers=dpo,
    )
    assert bad.status_code == 422
    assert set(bad.get_json()["fields"]) == {"kind", "received_via", "received_at"}
    future = client.post(
        "/api/v1/requests", json={**body, "received_at": "2999-01-01T00:00:00Z"}, headers=dpo
    )
    assert future.status_code == 422 and "received_at" in future.get_json()["fields"]


def test_requests_overdue_exits_1_when_any(base_env: dict[str, str], committed: Runtime) -> None:
    runner = CliRunner(env=base_env)
    assert runner.invoke(cli, ["requests", "overdue"]).exit_code == 0

    with committed.Session() as session:
        requests.open_request(session, kind="access", received_via="email", actor="dpo",
                              received_at=utcnow() - timedelta(days=40))  # fmt: skip
        requests.open_request(session, kind="access", received_via="email", actor="dpo")
        session.commit()
    result = runner.invoke(cli, ["requests", "overdue"])
    assert result.exit_code == 1
    assert result.output.count("\taccess\t") == 1 and "days late" in result.output


def test_signups_purge_command(base_env: dict[str, str], committed: Runtime) -> None:
    with committed.Session() as session:
        session.add(
            Contact(email="stale@example.org", status="pending", created_at=utcnow() - timedelta(days=9))
        )
        fresh = Contact(email="fresh@example.org", status="pending")
        session.add(fresh)
        session.add(UsedToken(jti="old-spent-link", kind="portal", used_at=utcnow() - timedelta(days=8)))
        session.add(UsedToken(jti="new-spent-link", kind="portal"))
        session.flush()
        # New addresses waiting for their confirmation: personal data, kept only while the link works.
        session.add(AddressChange(contact_id=fresh.id, field="email", value="old@example.net",
                                  jti="old-change-link", created_at=utcnow() - timedelta(days=4)))  # fmt: skip
        session.add(
            AddressChange(contact_id=fresh.id, field="phone", value="+33698765432", jti="new-change-link")
        )
        session.commit()
    result = CliRunner(env=base_env).invoke(cli, ["signups", "purge"])
    assert result.exit_code == 0, result.output
    assert "1 unconfirmed sign-up(s) deleted" in result.output
    assert "1 spent link id(s) forgotten" in result.output
    assert "1 unconfirmed address change(s) deleted" in result.output
    with committed.Session() as session:
        assert session.scalars(select(Contact.email)).all() == ["fresh@example.org"]
        assert session.scalars(select(UsedToken.jti)).all() == ["new-spent-link"]
        assert session.scalars(select(AddressChange.jti)).all() == ["new-change-link"]
