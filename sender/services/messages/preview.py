"""The exact message a campaign would send, for a sample contact, and test sends to a few typed addresses.

Previews and test sends go through the same renderer as real sends (footer and headers included), given
the same A/B variant as the worker's batch when the campaign has a test.
They show the documented sample contact (SAMPLE), or a contact the sender picks by address: never someone
chosen for them. A test send goes on the campaign's channel (an email, or an SMS to typed phone numbers),
marked by the channel's assembler (`channels.base.TEST_MARK`). It uses a stand-in contact whose links lead
nowhere, so it can never change anyone's consent; it refuses an address on the channel's suppression list
(erased, objected, bounced, STOP), counts against its sender's hourly allowance (every channel's tests
together), and leaves through the channel's transport only once the request's transaction has committed.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from sender import work
from sender.addresses import AddressError, address_hash, normalize_email
from sender.channels.base import Channel as SendingChannel
from sender.channels.base import RenderFailed, SendResult
from sender.config import Settings
from sender.db import utcnow
from sender.enums import ContactStatus
from sender.i18n import N_
from sender.models import AuditEvent, Campaign, Contact, Purpose, Suppression
from sender.runtime import Runtime
from sender.services.accounts import organisation
from sender.services.errors import ValidationFailed
from sender.services.messages import variants
from sender.services.messages.rendering import AskContext, EmailRenderer, validate_content
from sender.services.records import audit

TEST_SEND_ACTION = "campaign.test_send"
# The allowance of TEST_SENDS_PER_HOUR is counted over this sliding window.
TEST_SEND_WINDOW = timedelta(hours=1)
# The sample contact of every preview and test send unless the sender picks one (README, Campaigns).
SAMPLE = {
    "public_id": "sample",
    "email": "camille.martin@example.org",
    "first_name": "Camille",
    "last_name": "Martin",
}

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rendered:
    """A rendered message split for display."""

    headers: list[tuple[str, str]]
    subject: str
    text: str
    html: str


def sample_contact() -> Contact:
    """The documented sample contact (SAMPLE): made up, in nobody's lists."""
    return Contact(**SAMPLE)


def picked_contact(session: Session, email: str | None, field: str = "sample") -> Contact:
    """The contact with this address, as the sender picked it; the sample when none is given.

    ValidationFailed at `field` for an address that is not a contact's (erased contacts have none).
    """
    if not email or not email.strip():
        return sample_contact()
    try:
        wanted = normalize_email(email)
    except AddressError as exc:
        raise ValidationFailed({field: exc.message}) from None
    found = session.scalar(
        select(Contact).where(Contact.email == wanted, Contact.status != ContactStatus.ERASED)
    )
    if found is None:
        raise ValidationFailed({field: N_("no contact has this address")})
    return found


def previewed_contact(session: Session, public_id: str | None) -> Contact:
    """The contact a page previews, named by its opaque public id (never an address in a URL); else the sample."""
    if public_id:
        found = session.scalar(
            select(Contact).where(Contact.public_id == public_id, Contact.status != ContactStatus.ERASED)
        )
        if found is not None and found.email:
            return found
    return sample_contact()


def _stand_in(contact: Contact, address: str, column: str = "email") -> Contact:
    # A transient contact: the sample's fields, the typed address (in the channel's `column`) and a public
    # id no link can resolve.
    return Contact(
        public_id=f"test-{secrets.token_urlsafe(8)}",
        **{column: address},
        first_name=contact.first_name,
        last_name=contact.last_name,
        locale=contact.locale,
        country=contact.country,
        attributes=dict(contact.attributes or {}),
    )


def _renderer(
    runtime: Runtime, session: Session, campaign: Campaign, ask: AskContext | None, variant: int | None
) -> EmailRenderer:
    purpose = session.get(Purpose, campaign.purpose_id)
    assert purpose is not None
    settings = organisation.effective_settings(session, runtime.settings)
    # Checked in a child process under hard limits: a preview must not let a template slow the web process.
    # An A/B variant is rendered by the worker's own renderer given the same variant (variants.named).
    return EmailRenderer(
        settings, runtime.tokens, campaign, purpose, ask, check=validate_content, variant=variant
    )


def split(message: EmailMessage) -> Rendered:
    """A message's headers, subject, text and HTML parts, for display."""
    text = html = ""
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            text = str(part.get_content())
        elif part.get_content_type() == "text/html":
            html = str(part.get_content())
    headers = [(k, str(v)) for k, v in message.items() if k.lower() != "content-type"]
    return Rendered(headers, str(message["Subject"] or ""), text, html)


def render(
    runtime: Runtime,
    session: Session,
    campaign: Campaign,
    contact: Contact,
    ask: AskContext | None = None,
    variant: int | None = None,
) -> Rendered:
    """The message (of an A/B test's `variant`) as the worker would build it for this contact; raises ValidationFailed.

    A requalification message needs its cycle's `ask` (requalify.message_context), as the worker has it.
    Only the signed links differ: they name a stand-in, so clicking them in a preview changes nothing.
    """
    return split(message(runtime, session, campaign, contact, ask, variant))


def message(
    runtime: Runtime,
    session: Session,
    campaign: Campaign,
    contact: Contact,
    ask: AskContext | None = None,
    variant: int | None = None,
) -> EmailMessage:
    """The whole email (headers and parts) render() shows, as the worker would build it."""
    renderer = _renderer(runtime, session, campaign, ask, variant)
    with _for_sample():
        return renderer.render(_stand_in(contact, contact.email or ""), 0).message()


@contextmanager
def _for_sample() -> Iterator[None]:
    """Messages made for the previewed contact: ValidationFailed at `sample` when their data breaks one (the
    worker would fail that one delivery), instead of a server error."""
    try:
        yield
    except RenderFailed as exc:
        # The detail names the kind of error only, never the template's output or the person's data.
        reason = N_("the message cannot be made for this contact: %(detail)s", detail=exc.detail)
        raise ValidationFailed({"sample": reason}) from None


def messages(
    runtime: Runtime, session: Session, campaign: Campaign, contact: Contact, ask: AskContext | None = None
) -> dict[int | None, EmailMessage]:
    """Each content's whole email by variant (variants.contents: one without an A/B test), as message() builds it."""
    return {
        variant: message(runtime, session, campaign, contact, ask, variant)
        for variant in variants.contents(campaign)
    }


def _unusable(session: Session, settings: Settings, channel: SendingChannel, to: str) -> str | None:
    """Why an address may not receive a test (on the channel's suppression list, or a restricted contact's), or
    None."""
    reason = session.scalar(
        select(Suppression.reason).where(
            Suppression.address_hash == address_hash(settings.hash_key, to),
            Suppression.channel == channel.name,
        )
    )
    if reason is not None:
        return N_("this address is on the suppression list (%(reason)s)", reason=reason)
    column, _ = channel.address.columns()
    unusable = session.scalar(
        select(Contact.id).where(
            column == to, Contact.status.in_((ContactStatus.ERASED, ContactStatus.RESTRICTED))
        )
    )
    if unusable is not None:
        return N_("this address belongs to a restricted contact")
    return None


def _joined(problems: list[str]) -> str:
    """Several reasons as one, each kept translatable."""
    joined = problems[0]
    for problem in problems[1:]:
        joined = N_("%(first)s; %(then)s", first=joined, then=problem)
    return joined


def _named(address: str, reason: str, typed: int) -> str:
    """A reason about one of several typed addresses names it; about the only one, it needs not."""
    return N_("%(address)s: %(reason)s", address=address, reason=reason) if typed > 1 else reason


def recipients(session: Session, settings: Settings, raw: str, channel: SendingChannel) -> list[str]:
    """The distinct addresses on `channel` of a test send, typed separated by commas, semicolons or lines.

    Each is read by the channel's own rule (channel.normalise: an email address, or a phone number whose
    national form is read in DEFAULT_PHONE_REGION). ValidationFailed at `address`: none, more than
    TEST_SEND_MAX_ADDRESSES, or each address that is malformed or may not receive a test, named with its
    reason."""
    typed = [part.strip() for part in re.split(r"[,;\r\n]+", raw or "") if part.strip()]
    limit = settings.composer.test_send_max_addresses
    if not typed:
        raise ValidationFailed({"address": N_("is required")})
    if len(typed) > limit:
        raise ValidationFailed(
            {
                "address": N_(
                    "at most %(limit)s addresses per test, got %(count)s", limit=limit, count=len(typed)
                )
            }
        )
    found: list[str] = []
    problems: list[str] = []
    for part in typed:
        try:
            to = channel.normalise(part, settings)
        except AddressError as exc:
            problems.append(_named(part, exc.message, len(typed)))
            continue
        problem = _unusable(session, settings, channel, to)
        if problem is not None:
            problems.append(_named(part, problem, len(typed)))
        elif to not in found:
            found.append(to)
    if problems:
        raise ValidationFailed({"address": _joined(problems)})
    return found


def _take_turn(session: Session, actor: str) -> None:
    """Make one sender's test sends take turns until commit, so each count sees the others.

    On PostgreSQL, a transaction-scoped advisory lock keyed by the sender; SQLite's write lock, taken at
    BEGIN, already runs writers one at a time."""
    if session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(f"test-send:{actor}".encode()).digest()[:8], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def _count_allowance(session: Session, settings: Settings, actor: str) -> None:
    """Refuse the test send past TEST_SENDS_PER_HOUR for this sender (counted after its own audit row)."""
    # Counted after this send's own audit row, under the sender's turn (_take_turn): twenty at once
    # cannot all pass.
    sent = session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(
            AuditEvent.actor == actor,
            AuditEvent.action == TEST_SEND_ACTION,
            AuditEvent.occurred_at >= utcnow() - TEST_SEND_WINDOW,
        )
    )
    if (sent or 0) > settings.test_sends_per_hour:
        raise ValidationFailed(
            {
                "address": N_(
                    "at most %(test_sends_per_hour)s test messages per hour; try again later",
                    test_sends_per_hour=settings.test_sends_per_hour,
                )
            }
        )


def _unconfigured(channel: SendingChannel, settings: Settings) -> None:
    """Refuse a test on a channel that could not send the campaign (SMS without Twilio, sender or STOP text)."""
    missing = channel.missing_settings(settings)
    if missing:
        raise ValidationFailed(
            {
                "address": N_(
                    "the campaign's channel cannot send until these settings are set: %(settings)s",
                    settings=", ".join(missing),
                )
            }
        )


def _deliver(channel: SendingChannel, settings: Settings, message: Any) -> SendResult:
    """Hand the test message to the channel's transport; one that cannot be reached is a failed result."""
    try:
        with channel.transport(settings) as transport:
            return transport.send(message)
    except (OSError, ValueError) as exc:
        return SendResult("temporary", detail=type(exc).__name__)


def test_send(
    runtime: Runtime,
    session: Session,
    campaign: Campaign,
    sample: Contact,
    addresses: str,
    actor: str,
    report: Callable[[list[SendResult]], object],
    ask: AskContext | None = None,
    variant: int | None = None,
) -> None:
    """Send one message (of an A/B test's `variant`) marked as a test to each typed address (recipients()) on the
    campaign's channel, once the caller's unit commits.

    No delivery row, no consent change. ValidationFailed (at `address`) for a malformed or suppressed
    address, too many addresses, a channel not configured to send, or past the sender's hourly allowance
    (each address counts); at `sample` for a message the sample's data breaks. `report` receives the
    transport's results, in the order typed, after the commit (never if the unit rolls back).
    """
    # Rendered before taking the sender's turn, which is then held only for the count and the commit.
    renderer = _renderer(runtime, session, campaign, ask, variant)
    channel = renderer.channel
    wanted = recipients(session, runtime.settings, addresses, channel)
    _unconfigured(channel, renderer.settings)
    with _for_sample():
        ready = [renderer.render_test(_stand_in(sample, to, channel.address.column)) for to in wanted]
    _take_turn(session, actor)
    # The audit trail records that tests went out, one row each, not to whom (no personal data).
    for _ in ready:
        audit.record(session, actor, TEST_SEND_ACTION, "campaign", campaign.id, {})
    _count_allowance(session, runtime.settings, actor)
    # Read now: once committed, the session may not load anything.
    settings, campaign_id = renderer.settings, campaign.id

    def deliver() -> None:
        results = [_deliver(channel, settings, message) for message in ready]
        for result in results:
            if result.outcome != "sent":
                log.warning("test send of campaign %s not sent: %s", campaign_id, result.outcome)
        report(results)

    # Outside the request's transaction: no network call while it holds its locks.
    work.after_commit(session, "campaign test send", deliver)
