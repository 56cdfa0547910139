"""Turning a campaign and a contact into a complete email: sandboxed content, system footer, RFC 8058 headers.

Everything that is the same for every message of a batch (compiled templates, footers, constant headers)
is prepared once in EmailRenderer; render() only fills in the person and their signed links.
"""

from __future__ import annotations

import functools
import re
import secrets
from datetime import UTC, datetime
from email.headerregistry import Address
from email.utils import format_datetime, parseaddr
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import escape

from sender.channels.base import OutgoingEmail
from sender.channels.email.mime import fold, part_head, qp, subject_line
from sender.config import Settings
from sender.models import Campaign, Contact, Purpose
from sender.paths import resource_dir
from sender.services.consent.links import portal_url, unsubscribe_url
from sender.services.errors import ValidationFailed
from sender.services.messages.sandbox import (
    check_exits,
    compile_template,
    insert_footer,
    template_contact,
    validate_content,
)
from sender.tokens import TokenService

__all__ = ["EmailRenderer", "check_sender_identity", "validate_content"]

ONE_CLICK = "List-Unsubscribe=One-Click"
_UNSUBSCRIBE_SLOT = "@@SENDER-UNSUBSCRIBE-URL@@"
_PORTAL_SLOT = "@@SENDER-PORTAL-URL@@"
_PHRASE_SPECIALS = re.compile(r'[()<>\[\]:;@\\,."]+')
_NOT_SLUG = re.compile(r"[^a-z0-9-]+")


def check_sender_identity(settings: Settings) -> None:
    """A marketing email must identify the advertiser (R18): refuse to launch without it."""
    errors: dict[str, str] = {}
    if not settings.org_name.strip():
        errors["ORG_NAME"] = "the organisation's legal name is required to send email"
    if not settings.org_address.strip():
        errors["ORG_ADDRESS"] = "the organisation's postal address is required to send email"
    _, address = parseaddr(settings.email_from)
    if "@" not in address:
        errors["EMAIL_FROM"] = "a valid sender address is required to send email"
    if errors:
        raise ValidationFailed(errors)


@functools.cache
def _footers() -> Environment:
    """The (trusted) environment of the system footer templates."""
    return Environment(
        loader=FileSystemLoader(resource_dir("templates")),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def sender_domain(settings: Settings) -> str:
    """Domain of EMAIL_FROM (for Message-ID), falling back to the public site's host."""
    _, address = parseaddr(settings.email_from)
    return address.rpartition("@")[2] or urlsplit(settings.public_base_url).hostname or "localhost"


def list_id(settings: Settings, purpose: Purpose) -> str:
    """RFC 2919 List-Id: the purpose's name and <slug.lists.HOST>, one list per purpose."""
    host = urlsplit(settings.public_base_url).hostname or ""
    if "." not in host:  # localhost or a bare name is not a namespace anyone controls
        host = sender_domain(settings)
    slug = _NOT_SLUG.sub("-", purpose.slug.lower()).strip("-") or f"purpose-{purpose.id}"
    phrase = " ".join(_PHRASE_SPECIALS.sub(" ", purpose.name).split())
    return f"{phrase} <{slug}.lists.{host}>".strip()


class EmailRenderer:
    """Renders one campaign for many contacts; build it once per batch.

    Everything constant (compiled templates, footers, folded headers, MIME skeleton) is prepared here, with
    the email package; render() only fills in the person, their signed links and the encoded bodies, as
    bytes, because building a Message object per recipient costs more than sending it.
    Raises ValidationFailed at construction if the campaign's templates do not pass validate_content().
    """

    def __init__(
        self, settings: Settings, tokens: TokenService, campaign: Campaign, purpose: Purpose
    ) -> None:
        validate_content(campaign.subject, campaign.body_html, campaign.body_text)
        self.settings, self.tokens = settings, tokens
        self.campaign_id, self.purpose_id, self.channel = campaign.id, purpose.id, "email"
        self._subject = compile_template(campaign.subject or "", html=False)
        self._text = compile_template(campaign.body_text or "", html=False)
        self._html = compile_template(campaign.body_html or "", html=True)
        # A legal notice is not subscription mail: no unsubscribe exit or list headers (R30),
        # but it still identifies the sender and leads to the privacy portal.
        self.subscription = campaign.kind != "legal_notice"
        context: dict[str, Any] = {
            "org_name": settings.org_name,
            "org_address": settings.org_address,
            "org_contact_email": settings.org_contact_email,
            "dpo_contact": settings.dpo_contact,
            "purpose_name": purpose.name,
            "purpose_description": purpose.description,
            "unsubscribe_url": _UNSUBSCRIBE_SLOT if self.subscription else None,
            "portal_url": _PORTAL_SLOT,
        }
        env = _footers()
        self._footer_text = env.get_template("email/footer.txt").render(context)
        self._footer_html = env.get_template("email/footer.html").render(context)
        self._domain = sender_domain(settings)
        _, self.envelope_from = parseaddr(settings.email_from)
        # "=_" never occurs in quoted-printable output, so this boundary cannot collide with a body.
        boundary = f"=_sender_{secrets.token_hex(12)}"
        head = [fold("From", Address(display_name=settings.org_name, addr_spec=self.envelope_from))]
        if self.subscription:
            head += [fold("List-Unsubscribe-Post", ONE_CLICK), fold("List-Id", list_id(settings, purpose))]
        head += [
            fold("MIME-Version", "1.0"),
            fold("Content-Type", f'multipart/alternative; boundary="{boundary}"'),
        ]
        self._head = "".join(head).encode("ascii")
        self._part_text = part_head(boundary, "plain")
        self._part_html = part_head(boundary, "html")
        self._closing = f"\r\n--{boundary}--\r\n".encode("ascii")
        self._mailto = (
            f",\r\n <mailto:{settings.org_contact_email}?subject=unsubscribe>"
            if settings.org_contact_email.isascii() and "@" in settings.org_contact_email
            else ""
        )
        self._date_value: datetime | None = None
        self._date_line = b""

    def message_id(self, delivery_id: int) -> str:
        """A unique Message-ID that names the delivery and campaign (ids only)."""
        return f"<d{delivery_id}.c{self.campaign_id}.{secrets.token_hex(6)}@{self._domain}>"

    def render(self, contact: Contact, delivery_id: int) -> OutgoingEmail:
        """The complete message for one contact."""
        if not contact.email:
            raise ValueError("the contact has no email address")
        view = template_contact(contact)
        # Whitespace is collapsed, so a value holding CR or LF cannot start a header of its own.
        subject = " ".join(self._subject.render(contact=view).split())
        text = self._text.render(contact=view)
        html = self._html.render(contact=view)
        portal = portal_url(self.settings, self.tokens, contact.public_id)
        footer_text = self._footer_text.replace(_PORTAL_SLOT, portal)
        footer_html = self._footer_html.replace(_PORTAL_SLOT, str(escape(portal)))
        message_id = self.message_id(delivery_id)
        exits = [portal]
        lines = [
            fold("To", contact.email) if not contact.email.isascii() else f"To: {contact.email}\r\n",
            subject_line(subject),
            f"Message-ID: {message_id}\r\n",
        ]
        if self.subscription:
            unsubscribe = unsubscribe_url(
                self.settings, self.tokens, contact.public_id, self.purpose_id, self.channel, self.campaign_id
            )
            footer_text = footer_text.replace(_UNSUBSCRIBE_SLOT, unsubscribe)
            footer_html = footer_html.replace(_UNSUBSCRIBE_SLOT, str(escape(unsubscribe)))
            lines.append(f"List-Unsubscribe: <{unsubscribe}>{self._mailto}\r\n")
            exits.append(unsubscribe)
        if text and not text.endswith("\n"):
            text += "\n"
        # The footer is added after the marketer's template has run and its HTML has been sanitised (closed),
        # so no template can remove or hide it; the check is a last guard.
        text, html = text + footer_text, insert_footer(html, footer_html)
        check_exits(text, html, exits)
        data = b"".join(
            (
                self._date(),
                "".join(lines).encode("utf-8"),
                self._head,
                self._part_text,
                qp(text),
                self._part_html,
                qp(html),
                self._closing,
            )
        )
        return OutgoingEmail(self.envelope_from, contact.email, message_id, data)

    def _date(self) -> bytes:
        """The Date header line, rebuilt at most once per second."""
        now = datetime.now(UTC).replace(microsecond=0)
        if now != self._date_value:
            self._date_value, self._date_line = now, f"Date: {format_datetime(now)}\r\n".encode("ascii")
        return self._date_line
