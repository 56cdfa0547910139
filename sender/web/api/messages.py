"""API resource: transactional messages (contract, legal obligation), idempotent through Idempotency-Key."""

from __future__ import annotations

from typing import Any

from flask import g, jsonify, request, url_for
from flask.typing import ResponseReturnValue

from sender.enums import TransactionalStatus
from sender.models import Contact, Purpose, TransactionalMessage
from sender.services.messages import transactional
from sender.services.messages.transactional import MessageInput
from sender.web.api.inputs import parse_body
from sender.web.api.present import ts
from sender.web.api.spec import TIMESTAMP, Component, nullable, obj
from sender.web.session import get_session, runtime


def _present(message: TransactionalMessage) -> dict[str, Any]:
    session = get_session()
    contact = session.get(Contact, message.contact_id)
    purpose = session.get(Purpose, message.purpose_id)
    return {
        "id": message.public_id,
        "contact": contact.public_id if contact else None,
        "purpose": purpose.slug if purpose else None,
        "status": message.status,
        "reason": message.reason or None,
        "created_at": ts(message.created_at),
        "sent_at": ts(message.sent_at),
    }


def send_message() -> ResponseReturnValue:
    """Queue one transactional message; the same Idempotency-Key and body answer with the first one."""
    asked = transactional.ask(
        get_session(),
        runtime().settings,
        parse_body(MessageInput),
        request.headers.get("Idempotency-Key"),
        g.actor,
    )
    headers = {"Location": url_for("api.get_message", public_id=asked.message.public_id)}
    if asked.replayed:
        headers["Idempotent-Replayed"] = "true"
    return jsonify(_present(asked.message)), 202, headers


def get_message(public_id: str) -> ResponseReturnValue:
    """One transactional message and where it stands."""
    return jsonify(_present(transactional.get(get_session(), public_id)))


_FIELDS = {
    "id": {"type": "string"},
    "contact": nullable({"type": "string"}),
    "purpose": nullable({"type": "string"}),
    "status": {"type": "string", "enum": [s.value for s in TransactionalStatus]},
    "reason": nullable({"type": "string"}),
    "created_at": TIMESTAMP,
    "sent_at": nullable(TIMESTAMP),
}
MESSAGE = Component("TransactionalMessage", obj(_FIELDS, list(_FIELDS)))
