"""The exact message a campaign would send, for a sample contact, and test sends to a typed address.

Previews and test sends go through the same EmailRenderer as real sends (footer and headers included).
A test send uses a stand-in contact whose links lead nowhere, so it can never change anyone's consent.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.addresses import AddressError, normalize_email
from sender.channels.email.transport import email_transport
from sender.models import Campaign, Contact, ListMember, Purpose
from sender.runtime import Runtime
from sender.services.accounts import organisation
from sender.services.errors import ValidationFailed
from sender.services.messages.rendering import AskContext, EmailRenderer, validate_content
from sender.services.records import audit

TEST_SUBJECT_PREFIX = "[TEST] "
TEST_HEADER = "X-Sender-Test"


@dataclass(frozen=True)
class Rendered:
    """A rendered message split for display."""

    headers: list[tuple[str, str]]
    subject: str
    text: str
    html: str


def sample_contact(session: Session, campaign: Campaign, email: str | None) -> Contact:
    """The contact with this address, else the first member of the campaign's lists, else a made-up one."""
    if email:
        try:
            wanted = normalize_email(email)
        except AddressError:
            wanted = None
        found = session.scalar(select(Contact).where(Contact.email == wanted)) if wanted else None
        if found is not None:
            return found
    list_ids = [lst.id for lst in campaign.lists]
    if list_ids:
        member = session.scalar(
            select(Contact)
            .join(ListMember, ListMember.contact_id == Contact.id)
            .where(ListMember.list_id.in_(list_ids), Contact.email.is_not(None))
            .order_by(Contact.id)
            .limit(1)
        )
        if member is not None:
            return member
    return Contact(
        public_id="sample", email="camille.martin@example.org", first_name="Camille", last_name="Martin"
    )


def _stand_in(contact: Contact, address: str) -> Contact:
    # A transient contact: the sample's fields, the typed address and a public id no link can resolve.
    return Contact(
        public_id=f"test-{secrets.token_urlsafe(8)}",
        email=address,
        first_name=contact.first_name,
        last_name=contact.last_name,
        locale=contact.locale,
        country=contact.country,
        attributes=dict(contact.attributes or {}),
    )


def _renderer(
    runtime: Runtime, session: Session, campaign: Campaign, ask: AskContext | None
) -> EmailRenderer:
    purpose = session.get(Purpose, campaign.purpose_id)
    assert purpose is not None
    settings = organisation.effective_settings(session, runtime.settings)
    # Checked in a child process under hard limits: a preview must not let a template slow the web process.
    return EmailRenderer(settings, runtime.tokens, campaign, purpose, ask, check=validate_content)


def _split(message: EmailMessage) -> Rendered:
    text = html = ""
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            text = str(part.get_content())
        elif part.get_content_type() == "text/html":
            html = str(part.get_content())
    headers = [(k, str(v)) for k, v in message.items() if k.lower() != "content-type"]
    return Rendered(headers, str(message["Subject"] or ""), text, html)


def render(
    runtime: Runtime, session: Session, campaign: Campaign, contact: Contact, ask: AskContext | None = None
) -> Rendered:
    """The message as the worker would build it for this contact; raises ValidationFailed.

    A requalification message needs its cycle's `ask` (requalify.message_context), as the worker has it.
    Only the signed links differ: they name a stand-in, so clicking them in a preview changes nothing.
    """
    outgoing = _renderer(runtime, session, campaign, ask).render(_stand_in(contact, contact.email or ""), 0)
    return _split(outgoing.message())


def test_send(
    runtime: Runtime,
    session: Session,
    campaign: Campaign,
    sample: Contact,
    address: str,
    actor: str,
    ask: AskContext | None = None,
) -> None:
    """Send one message marked as a test to a typed address; no delivery row, no consent change."""
    try:
        to = normalize_email(address)
    except AddressError as exc:
        raise ValidationFailed({"address": exc.message}) from None
    renderer = _renderer(runtime, session, campaign, ask)
    outgoing = renderer.render(_stand_in(sample, to), 0)
    message = outgoing.message()
    subject = str(message["Subject"] or "")
    message.replace_header("Subject", TEST_SUBJECT_PREFIX + subject)
    message[TEST_HEADER] = "yes"
    with email_transport(renderer.settings) as transport:
        result = transport.send(type(outgoing).from_message(message))
    if result.outcome != "sent":
        raise ValidationFailed(
            {"address": f"the server refused the test message: {result.detail or result.code}"}
        )
    # The audit trail records that a test went out, not to whom (no personal data).
    audit.record(session, actor, "campaign.test_send", "campaign", campaign.id, {})
