"""API resource: a contact's consent ledger (proof of Art. 7(1)) and the gate's answer for it."""

from __future__ import annotations

import ipaddress
from typing import Any

from flask import g, jsonify, request
from flask.typing import ResponseReturnValue

from sender.db import utcnow
from sender.models.consent import ConsentEvent
from sender.services.audience import contacts
from sender.services.consent import gate, ledger, purposes
from sender.services.errors import ValidationFailed
from sender.services.records import audit
from sender.web.api import bp, json_body
from sender.web.api import present as show
from sender.web.api.contacts import CONTACT_ID
from sender.web.api.openapi import TIMESTAMP, WRITE_ERRORS, nullable, obj, operation, query_param, ref
from sender.web.session import get_session

FIELDS = (
    "purpose",
    "channel",
    "action",
    "source",
    "mechanism",
    "wording_version",
    "collection_point",
    "evidence",
)
USER_AGENT_CHARS = 200


def truncate_ip(raw: str) -> str:
    """The network part only (IPv4 /24, IPv6 /48): enough to show where from, not who (EDPB 05/2020)."""
    address = ipaddress.ip_address(raw.strip())
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False).network_address)


def _evidence(given: Any) -> Any:
    """Evidence from the body, completed with minimal request metadata; never a full IP address."""
    if given is None:
        given = {}
    if not isinstance(given, dict):
        return given  # ledger.record names the error
    evidence = dict(given)
    ip = evidence.get("ip") or request.remote_addr
    if ip:
        try:
            evidence["ip"] = truncate_ip(str(ip))
        except ValueError:
            raise ValidationFailed({"evidence": "ip must be an IPv4 or IPv6 address"}) from None
    agent = evidence.get("user_agent") or request.user_agent.string
    if agent:
        evidence["user_agent"] = str(agent)[:USER_AGENT_CHARS]
    return evidence


def _parse(data: dict[str, Any]) -> dict[str, Any]:
    """Check the types of a consent request; the consent service checks the values."""
    errors = {name: "unknown field" for name in sorted(set(data) - set(FIELDS))}
    for name in ("channel", "action", "mechanism"):
        if not isinstance(data.get(name), str):
            errors[name] = "is required and must be a string"
    if not isinstance(data.get("source", "api"), str):
        errors["source"] = "must be a string"
    # Only the confirmation link proves a double opt-in (R53): a client cannot claim one.
    if data.get("mechanism") == "double_opt_in":
        errors["mechanism"] = (
            "double_opt_in is recorded only when the person uses a sign-up confirmation link"
        )
    if data.get("source") == "double_opt_in":
        errors["source"] = "double_opt_in is recorded only when the person uses a sign-up confirmation link"
    version = data.get("wording_version")
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        errors["wording_version"] = "must be an integer"
    point = data.get("collection_point")
    if point is not None and (not isinstance(point, str) or len(point) > 255):
        errors["collection_point"] = "must be a string of at most 255 characters"
    return errors


@bp.post("/contacts/<public_id>/consents")
def record_consent(public_id: str) -> ResponseReturnValue:
    """Record a grant or a withdrawal with its proof."""
    session = get_session()
    contact = contacts.get_by_public_id(session, public_id)
    data = json_body()
    errors = _parse(data)
    try:
        purpose = purposes.resolve(session, data.get("purpose"))
    except ValidationFailed as exc:
        raise ValidationFailed({**errors, **exc.errors}) from None
    if errors:
        raise ValidationFailed(errors)
    event = ledger.record(
        session,
        contact,
        purpose,
        channel=data["channel"],
        action=data["action"],
        source=data.get("source", "api"),
        mechanism=data["mechanism"],
        actor=g.actor,
        wording_version=data.get("wording_version"),
        collection_point=data.get("collection_point") or "api",
        evidence=_evidence(data.get("evidence")),
    )
    audit.record(
        session,
        g.actor,
        f"consent.{event.action}",
        "contact",
        contact.public_id,
        {"purpose": purpose.slug, "channel": event.channel, "event_id": event.id},
    )
    session.commit()
    wording = purposes.wordings_by_ids(session, [event.wording_id]).get(event.wording_id or 0)
    return jsonify(show.consent_event(event, purpose.slug, wording)), 201


@bp.get("/contacts/<public_id>/consents")
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


@bp.get("/contacts/<public_id>/eligibility")
def eligibility(public_id: str) -> ResponseReturnValue:
    """Whether the gate lets this contact be messaged now for a purpose on a channel, and why not."""
    session = get_session()
    contact = contacts.get_by_public_id(session, public_id)
    channel = request.args.get("channel")
    errors: dict[str, str] = {}
    if channel not in ledger.CHANNELS:
        errors["channel"] = f"must be one of {', '.join(ledger.CHANNELS)}"
    try:
        purpose = purposes.resolve(session, request.args.get("purpose"))
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    answer = gate.check(session, contact.id, purpose.id, str(channel))
    return jsonify({"eligible": answer.eligible, "reason": answer.reason})


_CHANNEL = {"type": "string", "enum": list(ledger.CHANNELS)}
_EVIDENCE = {
    "type": "object",
    "properties": {key: {"type": "string", "maxLength": size} for key, size in ledger.EVIDENCE_KEYS.items()},
    "additionalProperties": False,
    "description": "Minimal proof; an IP address is stored truncated (IPv4 /24, IPv6 /48). "
    "Missing ip and user_agent are taken from the request.",
}
SCHEMAS: dict[str, Any] = {
    "ConsentInput": obj(
        {
            "purpose": {"type": "string", "description": "Purpose slug."},
            "channel": _CHANNEL,
            "action": {"type": "string", "enum": list(ledger.ACTIONS)},
            "source": {"type": "string", "enum": sorted(ledger.SOURCES), "default": "api"},
            "mechanism": {
                "type": "string",
                "enum": sorted(ledger.GRANT_MECHANISMS | ledger.WITHDRAW_MECHANISMS),
                "description": "How the person acted. Non-affirmative mechanisms (pre_ticked, "
                "terms_acceptance, silence...) are refused with 422.",
            },
            "wording_version": {"type": "integer", "description": "Required for a grant."},
            "collection_point": {"type": "string", "maxLength": 255, "default": "api"},
            "evidence": _EVIDENCE,
        },
        ["purpose", "channel", "action", "mechanism"],
        additionalProperties=False,
    ),
    "ConsentEvent": obj(
        {
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
        },
        [
            "purpose",
            "channel",
            "action",
            "occurred_at",
            "source",
            "mechanism",
            "wording_version",
            "wording_text",
            "privacy_notice_version",
            "collection_point",
            "actor",
            "evidence",
            "expires_at",
        ],
    ),
    "ConsentState": obj(
        {
            "purpose": {"type": "string"},
            "channel": _CHANNEL,
            "status": {"type": "string", "enum": ["granted", "pending", "withdrawn", "expired"]},
            "since": TIMESTAMP,
            "expires_at": nullable(TIMESTAMP),
        },
        ["purpose", "channel", "status", "since", "expires_at"],
    ),
    "Consents": obj(
        {
            "current": {"type": "array", "items": ref("ConsentState")},
            "history": {"type": "array", "items": ref("ConsentEvent"), "description": "Oldest first."},
        },
        ["current", "history"],
    ),
    "Eligibility": obj(
        {
            "eligible": {"type": "boolean"},
            "reason": nullable({"type": "string", "enum": list(gate.REASONS)}),
        },
        ["eligible", "reason"],
    ),
}

PATHS: dict[str, Any] = {
    "/contacts/{public_id}/consents": {
        "post": operation(
            "recordConsent",
            "Record a consent grant or withdrawal with its proof",
            tag="consents",
            params=[CONTACT_ID],
            body=ref("ConsentInput"),
            ok=(201, "The recorded event", ref("ConsentEvent")),
            errors=(*WRITE_ERRORS, 404),
            description="For a purpose that requires double opt-in, a grant by any mechanism other than "
            "double_opt_in is stored as a request (pending confirmation).",
        ),
        "get": operation(
            "listConsents",
            "Current consent states and full history",
            tag="consents",
            params=[CONTACT_ID],
            ok=(200, "States and proof", ref("Consents")),
            errors=(401, 404),
        ),
    },
    "/contacts/{public_id}/eligibility": {
        "get": operation(
            "checkEligibility",
            "Ask the consent gate whether the contact may be messaged now",
            tag="consents",
            params=[
                CONTACT_ID,
                {**query_param("purpose", "Purpose slug."), "required": True},
                {**query_param("channel", "Channel.", _CHANNEL), "required": True},
            ],
            ok=(200, "The gate's answer", ref("Eligibility")),
            errors=(401, 404, 422),
        ),
    },
}
