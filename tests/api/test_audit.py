"""The audit trail through the API (R73): read with filters, verified on demand, tampering named."""

from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from sender.models import AuditEvent
from sender.services.records import audit
from tests.api.helpers import Api, create_purpose


def test_the_trail_is_read_by_family_and_verified(api: Api, db_session: Session) -> None:
    create_purpose(api)
    audit.seal(db_session)

    events = api.get("/audit?action=purpose")["items"]
    verified = api.post("/audit/verify", {}, 200)

    assert [e["action"] for e in events] == ["purpose.wording_add", "purpose.create"]  # newest first
    assert events[0]["hash"] and events[0]["seq"] >= 1
    assert verified["ok"] is True and verified["problem"] is None
    # The verification itself is on the trail.
    assert api.get("/audit?action=audit.verify")["items"][0]["details"]["ok"] is True


def test_an_edited_event_is_named_by_the_verification(api: Api, db_session: Session) -> None:
    create_purpose(api)
    audit.seal(db_session)
    target = db_session.scalar(select(AuditEvent.id).where(AuditEvent.action == "purpose.create"))
    db_session.execute(text("UPDATE audit_events SET actor = 'user:0' WHERE id = :id"), {"id": target})

    verified = api.post("/audit/verify", {}, 200)

    assert verified["ok"] is False and verified["broken_event"] == target


def test_a_bad_filter_is_refused_by_name(api: Api) -> None:
    refused = api.get("/audit?since=yesterday&limit=0", 422)
    assert set(refused["fields"]) == {"since", "limit"}
