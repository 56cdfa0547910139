"""Transactional messages: one templated email to one contact under a contract or legal-obligation purpose.

They need no marketing consent, so they are held to what makes them transactional: the purpose's legal basis
is contract or legal obligation (never consent or legitimate interest), and the promotion linter refuses
offers, prices and discounts, and any link (in the templates or the variables) to a host not allowed
(TRANSACTIONAL_LINK_HOSTS). They are still refused for erased, restricted, unconfirmed and suppressed contacts, checked when asked and again when sent. The exits stay:
the sender's identity and the privacy-portal link; no unsubscribe link, since neither basis lets the person
opt out of the message (they may still object and exercise their rights through the portal).

Asking twice with the same Idempotency-Key and body answers with the first message; the same key with
another body is a conflict. The message leaves from the `transactional` queue, which workers listen to
first, ahead of campaign batches.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, StringConstraints
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sender import work
from sender.addresses import ascii_email
from sender.channels.email.message import OutgoingEmail
from sender.channels.email.render import sender_domain
from sender.config import Settings
from sender.db import rowcount, utcnow
from sender.enums import Channel, ContactStatus, TransactionalStatus
from sender.i18n import N_, email_env, pick_locale
from sender.models import Contact, Purpose, Suppression, TransactionalMessage
from sender.runtime import Runtime
from sender.services.consent.links import portal_url
from sender.services.errors import Conflict, NotFound, ValidationFailed
from sender.services.input import Input, NonBlank, Text
from sender.services.messages import promotion, sandbox, system_email
from sender.services.messages.sandbox import compile_template, template_contact
from sender.services.records import audit
from sender.work.jobs import SendTransactional

# The legal bases under which a message needs no consent (GDPR Art. 6(1)(b) and (c)).
BASES = ("contract", "legal_obligation")
MAX_SUBJECT = 998
MAX_BODY = 100_000
MAX_KEY = 255
MAX_VARIABLES = 20
MAX_VARIABLE = 2000

VariableName = Annotated[str, StringConstraints(pattern=r"^[a-z_][a-z0-9_]*$", max_length=64)]
VariableValue = Annotated[str, StringConstraints(max_length=MAX_VARIABLE)]


class MessageInput(Input):
    """One transactional message: to whom, under which purpose, and its templates."""

    contact: Annotated[NonBlank, Field(max_length=64, description="The contact's public id.")]
    purpose: Annotated[
        NonBlank,
        Field(
            max_length=64, description="The slug of a purpose whose basis is contract or legal_obligation."
        ),
    ]
    subject: Annotated[NonBlank, Field(max_length=MAX_SUBJECT)]
    body_text: Annotated[
        Text,
        Field(
            min_length=1,
            max_length=MAX_BODY,
            description="Jinja text; {{ contact.first_name }}, {{ vars.reset_url }}…",
        ),
    ]
    variables: Annotated[
        dict[VariableName, VariableValue],
        Field(
            max_length=MAX_VARIABLES,
            description="Values the templates show as {{ vars.name }} (a reset or tracking link); "
            "a link's host must be one TRANSACTIONAL_LINK_HOSTS allows.",
        ),
    ] = {}


@dataclass(frozen=True)
class Asked:
    """The message asked for, and whether this answer repeats an earlier one (same key, same body)."""

    message: TransactionalMessage
    replayed: bool


def request_hash(data: MessageInput) -> str:
    """SHA-256 of the request's fields in a canonical form."""
    return hashlib.sha256(json.dumps(data.model_dump(), sort_keys=True).encode()).hexdigest()


def _refusal(session: Session, contact: Contact) -> str | None:
    """Why this contact may not be sent a transactional message now, or None."""
    if contact.status != ContactStatus.ACTIVE:
        return str(contact.status)
    if not contact.email or not contact.email_hash:
        return "no_address"
    suppressed = session.scalar(
        select(Suppression.id).where(
            Suppression.address_hash == contact.email_hash, Suppression.channel == Channel.EMAIL
        )
    )
    return "suppressed" if suppressed is not None else None


def link_hosts(settings: Settings) -> frozenset[str]:
    """The hosts a transactional message may link to: the configured ones, else the public base URL's."""
    configured = settings.outgoing.transactional_link_hosts
    if configured:
        return frozenset(configured)
    host = urlsplit(settings.public_base_url).hostname
    return frozenset({host.lower()} if host else ())


def _lint(data: MessageInput, hosts: frozenset[str]) -> None:
    """Refuse promotion and links to other hosts, in the templates and in the variables' values."""
    fields = {
        "subject": data.subject,
        "body_text": data.body_text,
        **{f"variables.{name}": value for name, value in data.variables.items()},
    }
    errors = promotion.transactional_problems(fields, hosts)
    if errors:
        raise ValidationFailed(errors)


def ask(session: Session, settings: Settings, data: MessageInput, key: str | None, actor: str) -> Asked:
    """Record one message and its job (after commit), or answer with the one this key already asked for."""
    digest = request_hash(data)
    if key is not None:
        if not key.strip() or len(key) > MAX_KEY or not key.isprintable():
            raise ValidationFailed({"Idempotency-Key": N_("must be 1-255 printable characters")})
        earlier = session.scalar(
            select(TransactionalMessage).where(
                TransactionalMessage.requested_by == actor, TransactionalMessage.idempotency_key == key
            )
        )
        if earlier is not None:
            if earlier.request_hash != digest:
                raise Conflict(N_("this Idempotency-Key was used with another request body"))
            return Asked(earlier, True)
    purpose = session.scalar(select(Purpose).where(Purpose.slug == data.purpose))
    if purpose is None:
        raise ValidationFailed({"purpose": N_("no such purpose")})
    if purpose.legal_basis not in BASES:
        raise ValidationFailed(
            {
                "purpose": N_(
                    "its legal basis is %(basis)s: a transactional message needs contract or legal_obligation",
                    basis=purpose.legal_basis,
                )
            }
        )
    _lint(data, link_hosts(settings))
    sandbox.check_content(data.subject, "", data.body_text, {"vars": data.variables})
    contact = session.scalar(select(Contact).where(Contact.public_id == data.contact))
    if contact is None:
        raise NotFound(N_("no such contact"))
    refusal = _refusal(session, contact)
    if refusal is not None:
        raise Conflict(N_("the contact cannot be sent this message: %(reason)s", reason=refusal))
    message = TransactionalMessage(
        requested_by=actor,
        idempotency_key=key,
        request_hash=digest,
        contact_id=contact.id,
        purpose_id=purpose.id,
        subject=data.subject,
        body_text=data.body_text,
        variables=dict(data.variables),
        status=TransactionalStatus.QUEUED,
    )
    session.add(message)
    session.flush()
    audit.record(
        session, actor, "message.transactional", "contact", contact.public_id, {"message": message.public_id}
    )
    work.enqueue(session, SendTransactional(message.id))
    return Asked(message, False)


def get(session: Session, public_id: str) -> TransactionalMessage:
    """The message with this public id, or NotFound."""
    message = session.scalar(select(TransactionalMessage).where(TransactionalMessage.public_id == public_id))
    if message is None:
        raise NotFound(N_("no such message"))
    return message


def _build(
    runtime: Runtime, session: Session, message: TransactionalMessage, contact: Contact
) -> EmailMessage:
    settings = system_email.require_sender(session, runtime.settings)
    purpose = session.get(Purpose, message.purpose_id)
    assert purpose is not None  # the foreign key
    view = template_contact(contact)
    values = {"contact": view, "vars": dict(message.variables or {})}
    subject = " ".join(compile_template(message.subject, html=False).render(**values).split())
    body = compile_template(message.body_text, html=False).render(**values)
    locale = pick_locale(contact.locale, default=settings.default_locale)
    footer = (
        email_env(locale)
        .get_template("email/transactional_footer.txt")
        .render(
            org_name=settings.org_name,
            org_address=settings.org_address,
            org_contact_email=settings.org_contact_email,
            dpo_contact=settings.dpo_contact,
            purpose_name=purpose.name,
            portal_url=portal_url(settings, runtime.tokens, contact.public_id),
        )
    )
    _, from_address = parseaddr(settings.email_from)
    email = EmailMessage()
    email["From"] = Address(display_name=settings.org_name, addr_spec=ascii_email(from_address))
    email["To"] = ascii_email(contact.email or "")
    email["Subject"] = subject
    email["Date"] = format_datetime(datetime.now(UTC))
    email["Message-ID"] = f"<t{message.id}.{secrets.token_hex(6)}@{sender_domain(settings)}>"
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(body.rstrip("\n") + "\n\n" + footer)
    return email


def deliver(runtime: Runtime, message_id: int) -> str:
    """Send one queued message (the contact checked again), then record the outcome; the outcome's name."""
    with work.reading(runtime.Session) as session:
        message = session.get(TransactionalMessage, message_id)
        if message is None or message.status != TransactionalStatus.QUEUED:
            return "stale"
        contact = session.get(Contact, message.contact_id)
        refusal = "erased" if contact is None else _refusal(session, contact)
        built = None
        if refusal is None and contact is not None:
            built = _build(runtime, session, message, contact)
            sending = system_email.require_sender(session, runtime.settings)
    if built is None:
        return _record(runtime, message_id, TransactionalStatus.SKIPPED, refusal or "")
    if not _start(runtime, message_id):
        return "stale"  # another worker started it (a job asked for twice)
    # Sent with no transaction open.
    result = system_email.send(sending, OutgoingEmail.from_message(built))
    if result.outcome == "sent":
        return _record(runtime, message_id, TransactionalStatus.SENT, "")
    return _record(runtime, message_id, TransactionalStatus.FAILED, str(result.outcome)[:64])


def _start(runtime: Runtime, message_id: int) -> bool:
    """Record, committed, that the message is about to leave; False if it had started already."""
    with work.unit(runtime.Session, "transactional-start") as session:
        started = session.execute(
            update(TransactionalMessage)
            .where(
                TransactionalMessage.id == message_id,
                TransactionalMessage.status == TransactionalStatus.QUEUED,
                TransactionalMessage.started_at.is_(None),
            )
            .values(started_at=utcnow())
        )
        return rowcount(started) == 1


def sweep(session: Session, margin_seconds: int, lease_seconds: int) -> tuple[int, int]:
    """Ask again for queued messages whose job was lost before they started (Redis down after the commit, a
    failover), and mark `unknown` those whose send started a lease ago without an outcome; (asked, unknown).

    The caller commits."""
    now = utcnow()
    lost = session.scalars(
        select(TransactionalMessage.id).where(
            TransactionalMessage.status == TransactionalStatus.QUEUED,
            TransactionalMessage.started_at.is_(None),
            TransactionalMessage.created_at <= now - timedelta(seconds=margin_seconds),
        )
    ).all()
    for message_id in lost:
        work.enqueue(session, SendTransactional(message_id))
    unknown = session.execute(
        update(TransactionalMessage)
        .where(
            TransactionalMessage.status == TransactionalStatus.QUEUED,
            TransactionalMessage.started_at <= now - timedelta(seconds=lease_seconds),
        )
        .values(status=TransactionalStatus.UNKNOWN, reason="worker lost while sending")
    )
    return len(lost), rowcount(unknown)


def _record(runtime: Runtime, message_id: int, status: TransactionalStatus, reason: str) -> str:
    with work.unit(runtime.Session, "transactional-outcome") as session:
        message = session.get(TransactionalMessage, message_id, with_for_update=True)
        if message is not None and message.status == TransactionalStatus.QUEUED:
            message.status, message.reason = status, reason
            message.sent_at = utcnow() if status == TransactionalStatus.SENT else None
    return status.value
