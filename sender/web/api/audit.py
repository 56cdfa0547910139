"""API resource: the hash-chained audit trail (R73), read and verified by the DPO and admins."""

from __future__ import annotations

from flask import g, jsonify
from flask.typing import ResponseReturnValue

from sender.services.records import audit
from sender.web.api.inputs import parse_query
from sender.web.api.schemas.audit import AuditQuery
from sender.web.api.spec import TIMESTAMP, Component, nullable, obj
from sender.web.session import get_session, runtime


def audit_events() -> ResponseReturnValue:
    """A page of the trail, newest first, under the filters."""
    query = parse_query(AuditQuery)
    filters = audit.Filters(
        action=query.action,
        actor=query.actor,
        subject=query.subject,
        since=query.since,
        until=query.until,
    )
    rows = audit.page(get_session(), filters, before_id=query.before, limit=query.limit)
    return jsonify({"items": [audit.as_row(row) for row in rows]})


def audit_verify() -> ResponseReturnValue:
    """Seal what waits, verify the chain and its checkpoints, and record the result in the trail."""
    result = audit.verify_and_record(get_session(), runtime().settings.secret_keys, g.actor)
    return jsonify(
        {
            "ok": result.ok,
            "events": result.events,
            "checkpoints": result.checkpoints,
            "broken_event": result.broken_event,
            "problem": result.problem,
        }
    )


AUDIT_EVENT = Component(
    "AuditEvent",
    obj(
        {
            "id": {"type": "integer"},
            "seq": nullable({"type": "integer", "description": "Position in the chain; null until sealed."}),
            "occurred_at": TIMESTAMP,
            "actor": {"type": "string"},
            "action": {"type": "string"},
            "subject_type": {"type": "string"},
            "subject_id": {"type": "string"},
            "details": {"type": "object"},
            "prev_hash": nullable({"type": "string", "description": "The previous event's hash."}),
            "hash": nullable({"type": "string"}),
        },
        ["id", "occurred_at", "actor", "action", "subject_type", "subject_id", "details"],
    ),
)
AUDIT_PAGE = obj({"items": {"type": "array", "items": AUDIT_EVENT}}, ["items"])
VERIFICATION = obj(
    {
        "ok": {"type": "boolean"},
        "events": {"type": "integer"},
        "checkpoints": {"type": "integer"},
        "broken_event": nullable({"type": "integer"}),
        "problem": nullable({"type": "string"}),
    },
    ["ok", "events", "checkpoints"],
)
