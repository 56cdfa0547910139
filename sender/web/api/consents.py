"""API resource: a contact's consent ledger (proof of Art. 7(1)) and the gate's answer for it."""

from __future__ import annotations

from typing import Any

from flask import g, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from sender.db import utcnow
from sender.models import Purpose
from sender.models.consent import ConsentEvent
from sender.services.audience import contacts
from sender.services.consent import gate, ledger, purposes
from sender.services.errors import ValidationFailed
from sender.services.records import audit
from sender.web.api import present as show
from sender.web.api.inputs import json_body, parse_query
from sender.web.api.schemas.consents import ConsentInput, EligibilityQuery
from sender.web.api.spec import TIMESTAMP, Component, nullable, obj
from sender.web.session import get_session

USER_AGENT_CHARS = 200


def _evidence(given: dict[str, str]) -> dict[str, str]:
    """Evidence from the body, completed with minimal request metadata; never a full IP address."""
    evidence = dict(given)
    ip = evidence.get("ip") or request.remote_addr
    if ip:
        try:
            evidence["ip"] = ledger.truncate_ip(str(ip))
        except ValueError:
            raise ValidationFailed({"evidence": "ip must be an IPv4 or IPv6 address"}) from None
    agent = evidence.get("user_agent") or request.user_agent.string
    if agent:
        evidence["user_agent"] = str(agent)[:USER_AGENT_CHARS]
    return evidence


def _parse_consent(session: Session) -> tuple[ConsentInput, Purpose]:
    """The typed request and its purpose; a bad purpose is named together with every other bad field."""
    data = json_body()
    errors: dict[str, str] = {}
    parsed = None
    try:
        parsed = ConsentInput.parse(data)
    except ValidationFailed as exc:
        errors = exc.errors
    purpose = None
    if "purpose" not in errors:
        try:
            purpose = purposes.resolve(session, data.get("purpose"))
        except ValidationFailed as exc:
            errors = {**errors, **exc.errors}
    if errors:
        raise ValidationFailed(errors)
    assert parsed is not None and purpose is not None
    return parsed, purpose


def record_consent(public_id: str) -> ResponseReturnValue:
    """Record a grant or a withdrawal with its proof."""
    session = get_session()
    contact = contacts.get_by_public_id(session, public_id)
    data, purpose = _parse_consent(session)
    given = data.evidence.model_dump(exclude_none=True) if data.evidence else {}
    event = ledger.record(
        session,
        contact,
        purpose,
        channel=data.channel,
        action=data.action,
        source=data.source,
        mechanism=data.mechanism,
        actor=g.actor,
        wording_version=data.wording_version,
        collection_point=data.collection_point or "api",
        evidence=_evidence(given),
    )
    audit.record(
        session,
        g.actor,
        f"consent.{event.action}",
        "contact",
        contact.public_id,
        {"purpose": purpose.slug, "channel": event.channel, "event_id": event.id},
    )
    wording = purposes.wordings_by_ids(session, [event.wording_id]).get(event.wording_id or 0)
    return jsonify(show.consent_event(event, purpose.slug, wording)), 201


def list_consents(public_id: str) -> ResponseReturnValue:
    """The current state per purpose and channel, and the full history with its proof."""
    session = get_session()
    contact = contacts.get_by_public_id(session, public_id)
    states = ledger.current_states(session, contact.id)
    events: list[ConsentEvent] = ledger.history(session, contact.id)
    by_id = purposes.by_ids(session, [s.purpose_id for s in states] + [e.purpose_id for e in events])
    wordings = purposes.wordings_by_ids(session, [e.wording_id for e in events])
    now = utcnow()
    return jsonify(
        {
            "current": [show.consent_state(s, by_id[s.purpose_id].slug, now) for s in states],
            "history": [
                show.consent_event(e, by_id[e.purpose_id].slug, wordings.get(e.wording_id or 0))
                for e in events
            ],
        }
    )


def eligibility(public_id: str) -> ResponseReturnValue:
    """Whether the gate lets this contact be messaged now for a purpose on a channel, and why not."""
    session = get_session()
    contact = contacts.get_by_public_id(session, public_id)
    errors: dict[str, str] = {}
    query = None
    try:
        query = parse_query(EligibilityQuery)
    except ValidationFailed as exc:
        errors = exc.errors
    purpose = None
    if "purpose" not in errors:
        try:
            purpose = purposes.resolve(session, request.args.get("purpose"))
        except ValidationFailed as exc:
            errors = {**errors, **exc.errors}
    if errors:
        raise ValidationFailed(errors)
    assert query is not None and purpose is not None
    answer = gate.check(session, contact.id, purpose.id, query.channel)
    return jsonify({"eligible": answer.eligible, "reason": answer.reason})


_CHANNEL = {"type": "string", "enum": list(ledger.CHANNELS)}
_EVENT: dict[str, Any] = {
    "purpose": {"type": "string"},
    "channel": _CHANNEL,
    "action": {
        "type": "string",
        "enum": ["grant", "withdraw", "request"],
        "description": "request: a grant awaiting double opt-in confirmation.",
    },
    "occurred_at": TIMESTAMP,
    "source": {"type": "string"},
    "mechanism": {"type": "string"},
    "wording_version": nullable({"type": "integer"}),
    "wording_text": nullable({"type": "string"}),
    "privacy_notice_version": nullable({"type": "string"}),
    "collection_point": nullable({"type": "string"}),
    "actor": {"type": "string"},
    "evidence": {"type": "object", "additionalProperties": {"type": "string"}},
    "expires_at": nullable(TIMESTAMP),
}
CONSENT_EVENT = Component("ConsentEvent", obj(_EVENT, list(_EVENT)))
CONSENT_STATE = Component(
    "ConsentState",
    obj(
        {
            "purpose": {"type": "string"},
            "channel": _CHANNEL,
            "status": {"type": "string", "enum": ["granted", "pending", "withdrawn", "expired"]},
            "since": TIMESTAMP,
            "expires_at": nullable(TIMESTAMP),
        },
        ["purpose", "channel", "status", "since", "expires_at"],
    ),
)
CONSENTS = Component(
    "Consents",
    obj(
        {
            "current": {"type": "array", "items": CONSENT_STATE},
            "history": {"type": "array", "items": CONSENT_EVENT, "description": "Oldest first."},
        },
        ["current", "history"],
    ),
)
ELIGIBILITY = Component(
    "Eligibility",
    obj(
        {
            "eligible": {"type": "boolean"},
            "reason": nullable({"type": "string", "enum": list(gate.REASONS)}),
        },
        ["eligible", "reason"],
    ),
)
