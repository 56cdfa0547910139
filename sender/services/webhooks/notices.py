"""Telling admins that an endpoint was disabled: an audit event, a dashboard notice, and an email to each."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from sender import work
from sender.enums import Role
from sender.models import User, WebhookEndpoint
from sender.runtime import Runtime
from sender.services.messages import system_email
from sender.services.records import audit
from sender.work.jobs import NotifyEndpointDisabled

ACTOR = "system:webhooks"


def endpoint_disabled(session: Session, endpoint: WebhookEndpoint) -> None:
    """Record the disabling (audit trail) and ask for the admins' email, after this unit commits."""
    audit.record(
        session,
        ACTOR,
        "webhook.endpoint_disabled",
        "webhook_endpoint",
        endpoint.id,
        {"failures": endpoint.failures},
    )
    work.enqueue(session, NotifyEndpointDisabled(endpoint.id))


def disabled_endpoints(session: Session) -> list[WebhookEndpoint]:
    """The endpoints disabled and not yet enabled again (the dashboard's notice)."""
    return list(
        session.scalars(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.enabled.is_(False), WebhookEndpoint.disabled_at.is_not(None))
            .order_by(WebhookEndpoint.id)
        )
    )


def email_admins(runtime: Runtime, endpoint_id: int) -> int:
    """Email every active admin that the endpoint is disabled (the system email path); how many left."""
    settings = runtime.settings
    with work.reading(runtime.Session) as session:
        endpoint = session.get(WebhookEndpoint, endpoint_id)
        if endpoint is None or endpoint.enabled:
            return 0
        admins = session.scalars(select(User).where(User.role == Role.ADMIN, User.is_active.is_(True))).all()
        sending = system_email.require_sender(session, settings)
        messages = [
            system_email.build(
                session,
                settings,
                "webhook_disabled",
                admin.email,
                settings.default_locale,
                endpoint_url=endpoint.url,
                failures=endpoint.failures,
                page_url=f"{settings.public_base_url}/admin/webhooks/{endpoint.id}",
            )
            for admin in admins
        ]
    # Sent with no transaction open.
    return sum(system_email.send(sending, message).outcome == "sent" for message in messages)
