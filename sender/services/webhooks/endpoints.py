"""Webhook endpoints, kept by admins: an https URL under the SSRF rule, a secret shown once, the events wanted.

The SSRF rule is checked here when a URL is saved and again by the transport at every connection. Turning
"include addresses" on (payloads then carry the contact's email and phone) is recorded in the audit trail.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.config import Settings
from sender.db import utcnow
from sender.enums import OutboundError, WebhookEvent
from sender.i18n import N_
from sender.models import OutgoingEvent, WebhookDelivery, WebhookEndpoint
from sender.services import ssrf
from sender.services.errors import NotFound, ValidationFailed
from sender.services.input import Input, NonBlank, OneOf, Text
from sender.services.records import audit
from sender.services.webhooks import delivery as sending

MAX_URL = 2000
MAX_DESCRIPTION = 200
LOG_LIMIT = 200
EVENT_TYPES = tuple(WebhookEvent)


class EndpointInput(Input):
    """A new endpoint: where events go and which ones."""

    messages = {"events": "must name at least one event type"}

    url: Annotated[NonBlank, Field(max_length=MAX_URL, description="An https URL.")]
    description: Annotated[Text, Field(max_length=MAX_DESCRIPTION)] = ""
    events: Annotated[
        list[Annotated[str, OneOf(EVENT_TYPES)]], Field(min_length=1, max_length=len(EVENT_TYPES))
    ]
    include_addresses: Annotated[
        bool,
        Field(description="Payloads also carry the contact's email and phone (recorded in the audit trail)."),
    ] = False


class EndpointPatch(Input):
    """Changes to an endpoint; enabling it again clears its failure count."""

    messages = EndpointInput.messages

    url: Annotated[NonBlank, Field(max_length=MAX_URL)] | None = None
    description: Annotated[Text, Field(max_length=MAX_DESCRIPTION)] | None = None
    events: (
        Annotated[list[Annotated[str, OneOf(EVENT_TYPES)]], Field(min_length=1, max_length=len(EVENT_TYPES))]
        | None
    ) = None
    include_addresses: bool | None = None
    enabled: bool | None = None


@dataclass(frozen=True)
class Created:
    """A new endpoint and its secret, shown this once."""

    endpoint: WebhookEndpoint
    secret: str


def new_secret() -> str:
    """A Standard Webhooks secret: "whsec_" and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def check_url(settings: Settings, url: str) -> None:
    """Refuse a URL that is not https or whose host resolves to an address the SSRF rule refuses."""
    parts = urlsplit(url)
    try:
        port = parts.port or 443
    except ValueError:
        raise ValidationFailed({"url": N_("malformed address")}) from None
    if parts.scheme != "https" or not parts.hostname:
        raise ValidationFailed({"url": N_("must be an https URL")})
    if parts.username or parts.password:
        raise ValidationFailed({"url": N_("must not carry a user name or password")})
    try:
        ssrf.checked_address(parts.hostname, port, ssrf.rule(settings.outgoing.allow_private))
    except ssrf.Refused as refused:
        if refused.code == OutboundError.UNRESOLVED:
            raise ValidationFailed({"url": N_("the host name does not resolve")}) from None
        raise ValidationFailed(
            {"url": N_("refused: the host is a private, loopback, link-local or reserved address")}
        ) from None


def create(session: Session, settings: Settings, data: EndpointInput, actor: str) -> Created:
    """Add an endpoint; its secret is returned this once and never shown again."""
    check_url(settings, data.url)
    secret = new_secret()
    endpoint = WebhookEndpoint(
        url=data.url,
        description=data.description,
        secret=secret,
        events=sorted(set(data.events)),
        include_addresses=data.include_addresses,
        enabled=True,
        created_by=actor,
    )
    session.add(endpoint)
    session.flush()
    audit.record(
        session,
        actor,
        "webhook.endpoint_create",
        "webhook_endpoint",
        endpoint.id,
        {"events": endpoint.events},
    )
    if endpoint.include_addresses:
        audit.record(session, actor, "webhook.include_addresses_on", "webhook_endpoint", endpoint.id)
    return Created(endpoint, secret)


def update(
    session: Session, settings: Settings, endpoint: WebhookEndpoint, data: EndpointPatch, actor: str
) -> WebhookEndpoint:
    """Change an endpoint; turning addresses on is audited, enabling clears the failure count."""
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    if "url" in changes:
        check_url(settings, changes["url"])
        endpoint.url = changes["url"]
    if "description" in changes:
        endpoint.description = changes["description"]
    if "events" in changes:
        endpoint.events = sorted(set(changes["events"]))
    if "include_addresses" in changes and changes["include_addresses"] != endpoint.include_addresses:
        endpoint.include_addresses = changes["include_addresses"]
        action = (
            "webhook.include_addresses_on" if endpoint.include_addresses else "webhook.include_addresses_off"
        )
        audit.record(session, actor, action, "webhook_endpoint", endpoint.id)
    if "enabled" in changes and changes["enabled"] != endpoint.enabled:
        if changes["enabled"]:
            endpoint.enabled, endpoint.disabled_at, endpoint.failures = True, None, 0
        else:
            sending.disable(session, endpoint, utcnow())
        audit.record(
            session, actor, "webhook.endpoint_enable" if endpoint.enabled else "webhook.endpoint_disable",
            "webhook_endpoint", endpoint.id,
        )  # fmt: skip
    audit.record(
        session,
        actor,
        "webhook.endpoint_update",
        "webhook_endpoint",
        endpoint.id,
        {"fields": sorted(changes)},
    )
    session.flush()
    return endpoint


def delete(session: Session, endpoint: WebhookEndpoint, actor: str) -> None:
    """Remove an endpoint and its delivery log."""
    audit.record(session, actor, "webhook.endpoint_delete", "webhook_endpoint", endpoint.id)
    session.delete(endpoint)
    session.flush()


def get(session: Session, endpoint_id: int) -> WebhookEndpoint:
    """The endpoint with this id, or NotFound."""
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFound(N_("no such webhook endpoint"))
    return endpoint


def listing(session: Session) -> list[WebhookEndpoint]:
    """Every endpoint, oldest first."""
    return list(session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))


def log(
    session: Session, endpoint: WebhookEndpoint, limit: int = LOG_LIMIT
) -> list[tuple[WebhookDelivery, OutgoingEvent]]:
    """The endpoint's delivery log, newest first: each delivery with its event."""
    rows = session.execute(
        select(WebhookDelivery, OutgoingEvent)
        .join(OutgoingEvent, OutgoingEvent.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.endpoint_id == endpoint.id)
        .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
        .limit(limit)
    ).all()
    return [(row[0], row[1]) for row in rows]


def replay(session: Session, endpoint: WebhookEndpoint, delivery_id: int, actor: str) -> WebhookDelivery:
    """Send one delivery of this endpoint again (its webhook-id unchanged); audited."""
    row = session.get(WebhookDelivery, delivery_id)
    if row is None or row.endpoint_id != endpoint.id:
        raise NotFound(N_("no such delivery"))
    sending.replay(session, row)
    audit.record(session, actor, "webhook.replay", "webhook_endpoint", endpoint.id, {"delivery_id": row.id})
    return row
