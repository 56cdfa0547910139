"""API resource: outgoing webhook endpoints (admins only), their delivery log and replays."""

from __future__ import annotations

from typing import Any

from flask import g, jsonify, url_for
from flask.typing import ResponseReturnValue

from sender.enums import WebhookDeliveryStatus
from sender.models import OutgoingEvent, WebhookDelivery, WebhookEndpoint
from sender.services.webhooks import endpoints
from sender.services.webhooks.endpoints import EndpointInput, EndpointPatch
from sender.web.api.inputs import parse_body
from sender.web.api.present import ts as iso
from sender.web.api.spec import ID, TIMESTAMP, Component, nullable, obj
from sender.web.session import get_session, runtime


def present_endpoint(endpoint: WebhookEndpoint) -> dict[str, Any]:
    """An endpoint as the API shows it (never its secret)."""
    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "description": endpoint.description,
        "events": list(endpoint.events),
        "include_addresses": endpoint.include_addresses,
        "enabled": endpoint.enabled,
        "failures": endpoint.failures,
        "disabled_at": iso(endpoint.disabled_at),
        "created_at": iso(endpoint.created_at),
    }


def present_delivery(row: WebhookDelivery, event: OutgoingEvent) -> dict[str, Any]:
    """One line of an endpoint's delivery log."""
    return {
        "id": row.id,
        "message_id": event.message_id,
        "event_type": event.event_type,
        "status": row.status,
        "attempts": row.attempts,
        "last_status": row.last_status,
        "last_error": row.last_error or None,
        "next_attempt_at": iso(row.next_attempt_at),
        "delivered_at": iso(row.delivered_at),
        "created_at": iso(row.created_at),
    }


def create_webhook_endpoint() -> ResponseReturnValue:
    """Add an endpoint; the answer carries its secret, shown this once."""
    created = endpoints.create(get_session(), runtime().settings, parse_body(EndpointInput), g.actor)
    body = {**present_endpoint(created.endpoint), "secret": created.secret}
    location = url_for("api.get_webhook_endpoint", endpoint_id=created.endpoint.id)
    return jsonify(body), 201, {"Location": location}


def list_webhook_endpoints() -> ResponseReturnValue:
    """Every endpoint."""
    return jsonify({"items": [present_endpoint(e) for e in endpoints.listing(get_session())]})


def get_webhook_endpoint(endpoint_id: int) -> ResponseReturnValue:
    """One endpoint."""
    return jsonify(present_endpoint(endpoints.get(get_session(), endpoint_id)))


def update_webhook_endpoint(endpoint_id: int) -> ResponseReturnValue:
    """Change an endpoint."""
    session = get_session()
    changed = endpoints.update(
        session, runtime().settings, endpoints.get(session, endpoint_id), parse_body(EndpointPatch), g.actor
    )
    return jsonify(present_endpoint(changed))


def delete_webhook_endpoint(endpoint_id: int) -> ResponseReturnValue:
    """Remove an endpoint and its delivery log."""
    session = get_session()
    endpoints.delete(session, endpoints.get(session, endpoint_id), g.actor)
    return "", 204


def list_webhook_deliveries(endpoint_id: int) -> ResponseReturnValue:
    """The endpoint's delivery log, newest first."""
    session = get_session()
    rows = endpoints.log(session, endpoints.get(session, endpoint_id))
    return jsonify({"items": [present_delivery(row, event) for row, event in rows]})


def replay_webhook_delivery(endpoint_id: int, delivery_id: int) -> ResponseReturnValue:
    """Send a delivery again, with the same webhook-id."""
    session = get_session()
    row = endpoints.replay(session, endpoints.get(session, endpoint_id), delivery_id, g.actor)
    event = session.get(OutgoingEvent, row.event_id)
    assert event is not None  # the delivery's foreign key
    return jsonify(present_delivery(row, event)), 202


_STRING = {"type": "string"}
_EVENTS = {"type": "array", "items": {"type": "string", "enum": list(endpoints.EVENT_TYPES)}}
_ENDPOINT = {
    "id": ID,
    "url": _STRING,
    "description": _STRING,
    "events": _EVENTS,
    "include_addresses": {"type": "boolean"},
    "enabled": {"type": "boolean"},
    "failures": {"type": "integer", "minimum": 0},
    "disabled_at": nullable(TIMESTAMP),
    "created_at": TIMESTAMP,
}
ENDPOINT = Component("WebhookEndpoint", obj(_ENDPOINT, list(_ENDPOINT)))
CREATED = Component(
    "WebhookEndpointCreated",
    obj(
        {**_ENDPOINT, "secret": {"type": "string", "description": "Shown this once."}}, [*_ENDPOINT, "secret"]
    ),
)
_DELIVERY = {
    "id": ID,
    "message_id": {"type": "string", "description": "The webhook-id header: the same on every attempt."},
    "event_type": {"type": "string", "enum": list(endpoints.EVENT_TYPES)},
    "status": {"type": "string", "enum": [s.value for s in WebhookDeliveryStatus]},
    "attempts": {"type": "integer", "minimum": 0},
    "last_status": nullable({"type": "integer"}),
    "last_error": nullable(_STRING),
    "next_attempt_at": nullable(TIMESTAMP),
    "delivered_at": nullable(TIMESTAMP),
    "created_at": TIMESTAMP,
}
DELIVERY = Component("WebhookDelivery", obj(_DELIVERY, list(_DELIVERY)))
