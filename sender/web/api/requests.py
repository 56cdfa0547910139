"""API resource: the register of rights requests (R39), kept by the DPO (and admins).

Requests that arrive by post, email or phone are entered here; those made in the privacy portal are
registered by the portal itself. Marketers may read the register but not change it.
"""

from __future__ import annotations

from typing import Any

from flask import g, jsonify, url_for
from flask.typing import ResponseReturnValue

from sender.db import utcnow
from sender.models import Contact, RightsRequest
from sender.models.rights import REQUEST_CHANNELS, REQUEST_KINDS, REQUEST_STATUSES
from sender.services.rights import requests
from sender.web.api.inputs import parse_body, parse_query
from sender.web.api.schemas.base import Input
from sender.web.api.schemas.requests import (
    RequestsQuery,
    RightsRequestClose,
    RightsRequestExtension,
    RightsRequestInput,
)
from sender.web.api.spec import TIMESTAMP, Component, nullable, obj
from sender.web.session import get_session


def _iso(value: Any) -> str | None:
    return value.isoformat() + "Z" if value is not None else None


def _dump(model: Input) -> dict[str, Any]:
    """The fields the caller sent, as plain JSON values for the register's service."""
    return model.model_dump(mode="json", exclude_unset=True)


def present(item: RightsRequest, contact_public_id: str | None) -> dict[str, Any]:
    """The JSON form of one request."""
    return {
        "id": item.public_id,
        "contact_id": contact_public_id,
        "kind": item.kind,
        "received_via": item.received_via,
        "received_at": _iso(item.received_at),
        "due_at": _iso(item.due_at),
        "extended_due_at": _iso(item.extended_due_at),
        "extension_reason": item.extension_reason,
        "extension_notified_at": _iso(item.extension_notified_at),
        "status": item.status,
        "outcome": item.outcome,
        "closed_at": _iso(item.closed_at),
        "overdue": requests.is_overdue(item),
    }


def _show(item: RightsRequest) -> dict[str, Any]:
    contact = get_session().get(Contact, item.contact_id) if item.contact_id is not None else None
    return present(item, contact.public_id if contact is not None else None)


def rights_request_create() -> ResponseReturnValue:
    """Register a request received by post, email, phone or in person."""
    item = requests.create_from(get_session(), _dump(parse_body(RightsRequestInput)), g.actor)
    location = url_for("api.rights_request_get", public_id=item.public_id)
    return jsonify(_show(item)), 201, {"Location": location}


def rights_request_list() -> ResponseReturnValue:
    """The register, earliest deadline first; ?status= and ?overdue=true filter it."""
    query = parse_query(RequestsQuery)
    items = requests.listing(get_session(), query.status, query.overdue)
    return jsonify({"items": [_show(i) for i in items], "as_of": _iso(utcnow())})


def rights_request_get(public_id: str) -> ResponseReturnValue:
    """One request."""
    return jsonify(_show(requests.get(get_session(), public_id)))


def rights_request_extend(public_id: str) -> ResponseReturnValue:
    """Extend the deadline by one or two months, with the reasons told to the person in the first month."""
    session = get_session()
    data = _dump(parse_body(RightsRequestExtension))
    item = requests.extend(session, requests.get(session, public_id), data, g.actor)
    return jsonify(_show(item))


def rights_request_close(public_id: str) -> ResponseReturnValue:
    """Record the answer: completed or refused, with the outcome."""
    session = get_session()
    data = parse_body(RightsRequestClose)
    item = requests.close(session, requests.get(session, public_id), data.status, data.outcome, g.actor)
    return jsonify(_show(item))


RIGHTS_REQUEST = Component(
    "RightsRequest",
    obj(
        {
            "id": {"type": "string"},
            "contact_id": nullable({"type": "string"}),
            "kind": {"type": "string", "enum": list(REQUEST_KINDS)},
            "received_via": {"type": "string", "enum": list(REQUEST_CHANNELS)},
            "received_at": TIMESTAMP,
            "due_at": {**TIMESTAMP, "description": "One calendar month after receipt (GDPR Art. 12(3))."},
            "extended_due_at": nullable(TIMESTAMP),
            "extension_reason": nullable({"type": "string"}),
            "extension_notified_at": nullable(TIMESTAMP),
            "status": {"type": "string", "enum": list(REQUEST_STATUSES)},
            "outcome": nullable({"type": "string"}),
            "closed_at": nullable(TIMESTAMP),
            "overdue": {"type": "boolean"},
        },
        ["id", "kind", "received_via", "received_at", "due_at", "status", "overdue"],
    ),
)
REGISTER = obj({"items": {"type": "array", "items": RIGHTS_REQUEST}, "as_of": TIMESTAMP}, ["items", "as_of"])
