"""API resource: incoming SMS replies, and the review of those that look like an opt-out (R63)."""

from __future__ import annotations

from typing import Any

from flask import g, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from sender.models import Contact, InboundSms
from sender.models.sms import INBOUND_ACTIONS, INBOUND_KINDS
from sender.services.audience import contacts
from sender.services.consent import sms_replies
from sender.web.api.inputs import parse_body, parse_query
from sender.web.api.present import ts
from sender.web.api.schemas.sms import RepliesQuery, ReviewDecision
from sender.web.api.spec import TIMESTAMP, Component, nullable, obj
from sender.web.session import get_session


def present(row: InboundSms, public_ids: dict[int, str]) -> dict[str, Any]:
    """A reply as JSON: what it was taken for and what was done; its text only while it awaits review."""
    return {
        "id": row.id,
        "contact": public_ids.get(row.contact_id) if row.contact_id is not None else None,
        "kind": row.kind,
        "action": row.action,
        "keyword": row.keyword,
        "body": row.body,
        "message_sid": row.message_sid,
        "received_at": ts(row.received_at),
        "reviewed_at": ts(row.reviewed_at),
    }


def _public_ids(rows: list[InboundSms]) -> dict[int, str]:
    ids = {r.contact_id for r in rows if r.contact_id is not None}
    if not ids:
        return {}
    found = get_session().execute(select(Contact.id, Contact.public_id).where(Contact.id.in_(ids)))
    return {row.id: row.public_id for row in found}


def list_replies() -> ResponseReturnValue:
    """Incoming SMS, newest first; `action=flagged` lists those waiting for a person's decision."""
    session = get_session()
    query = parse_query(RepliesQuery)
    contact_id = contacts.get_by_public_id(session, query.contact).id if query.contact else None
    rows = sms_replies.replies(session, action=query.action, contact_id=contact_id)
    public_ids = _public_ids(rows)
    return jsonify({"items": [present(r, public_ids) for r in rows]})


def review_reply(reply_id: int) -> ResponseReturnValue:
    """Decide on a reply flagged for review: `withdraw` (as for STOP) or `dismiss`."""
    session = get_session()
    decision = parse_body(ReviewDecision).decision
    row = sms_replies.review(session, reply_id, decision, g.actor)
    return jsonify(present(row, _public_ids([row])))


_STR = {"type": "string"}
SMS_REPLY = Component(
    "SmsReply",
    obj(
        {
            "id": {"type": "integer"},
            "contact": nullable(
                {"type": "string", "description": "Public id; null when no contact has the number."}
            ),
            "kind": {"type": "string", "enum": list(INBOUND_KINDS)},
            "action": {"type": "string", "enum": list(INBOUND_ACTIONS)},
            "keyword": nullable(_STR),
            "body": nullable(
                {"type": "string", "description": "Kept only while the reply waits for review."}
            ),
            "message_sid": _STR,
            "received_at": TIMESTAMP,
            "reviewed_at": nullable(TIMESTAMP),
        },
        ["id", "contact", "kind", "action", "keyword", "body", "message_sid", "received_at", "reviewed_at"],
    ),
)
