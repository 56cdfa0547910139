"""Turning a campaign and a contact into SMS text: sandboxed body, then the mentions no template can remove.

The body is the campaign's `body_text`, a sandboxed Jinja2 template; the system adds the sender's name, the
STOP instruction (SMS_STOP_TEXT) and, when SMS_PORTAL_LINK is on, the privacy-portal link (R18, R19).
When body and mentions would not fit in one message, the mentions travel in a second SMS (R21).
"""

from __future__ import annotations

from dataclasses import dataclass

from sender.channels.sms.content import MAX_SEGMENTS, compose, measure, mentions, total_segments
from sender.channels.sms.twilio import OutgoingSms
from sender.config import Settings
from sender.models import Campaign, Contact
from sender.services.consent.links import portal_url
from sender.services.errors import ValidationFailed
from sender.services.messages.sandbox import (
    SAMPLE_CONTACT,
    compile_template,
    template_contact,
    validate_content,
)
from sender.tokens import TokenService

STATUS_CALLBACK_PATH = "/webhooks/twilio/status"
INBOUND_PATH = "/webhooks/twilio/inbound"
# What a portal link adds in the preview: the length of a real one (scheme, host, /p/ and a signed token).
_SAMPLE_TOKEN = "x" * 88


@dataclass(frozen=True)
class SmsPreview:
    """How a campaign's SMS travels for a sample contact: the texts, their encoding and segments."""

    parts: tuple[str, ...]
    encoding: str
    segments: int

    def as_dict(self) -> dict[str, object]:
        """JSON form for the API."""
        return {
            "messages": len(self.parts),
            "encoding": self.encoding,
            "segments": self.segments,
            "texts": list(self.parts),
        }


def check_sms_sender(settings: Settings) -> None:
    """An SMS campaign needs a Twilio sender, the sender's name and a STOP instruction (R18, R19)."""
    sms, errors = settings.sms, {}
    if not sms.configured:
        errors["TWILIO_ACCOUNT_SID"] = (
            "Twilio is not configured: set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and "
            "TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM"
        )
    if not sms.sender_name:
        errors["SMS_SENDER_NAME"] = "every SMS names its sender: set SMS_SENDER_NAME or ORG_NAME"
    if not sms.stop_text:
        errors["SMS_STOP_TEXT"] = "every marketing SMS says how to stop, e.g. SMS_STOP_TEXT='STOP au 36123'"
    if errors:
        raise ValidationFailed(errors)


def validate_sms_body(body_text: str) -> None:
    """The SMS body: a valid template that alone fits in one message of at most MAX_SEGMENTS segments."""
    validate_content("", "", body_text)
    if not body_text.strip():
        raise ValidationFailed({"body_text": "is required"})
    rendered = compile_template(body_text, html=False).render(contact=SAMPLE_CONTACT)
    size = measure(rendered.strip())
    if size.segments > MAX_SEGMENTS:
        raise ValidationFailed(
            {
                "body_text": f"{size.segments} segments ({size.encoding}); an SMS carries at most {MAX_SEGMENTS}"
            }
        )


class SmsRenderer:
    """Renders one campaign's SMS for many contacts; build it once per batch."""

    def __init__(self, settings: Settings, tokens: TokenService, campaign: Campaign) -> None:
        validate_content("", "", campaign.body_text)
        self.settings, self.tokens = settings, tokens
        self._body = compile_template(campaign.body_text or "", html=False)
        # A legal notice is not marketing: it names the sender but offers no STOP for it.
        self.marketing = campaign.kind != "legal_notice"
        self.status_callback = f"{settings.public_base_url}{STATUS_CALLBACK_PATH}"

    def mention_text(self, contact_public_id: str | None) -> str:
        """The mentions for one contact (or a sample link, for the preview)."""
        sms = self.settings.sms
        link = None
        if sms.portal_link:
            link = (
                portal_url(self.settings, self.tokens, contact_public_id)
                if contact_public_id
                else f"{self.settings.public_base_url}/p/{_SAMPLE_TOKEN}"
            )
        return mentions(sms.sender_name, sms.stop_text if self.marketing else "", link)

    def render(self, contact: Contact, delivery_id: int, validity_period: int | None = None) -> OutgoingSms:
        """The SMS of one contact, with the mentions appended or in a second SMS."""
        if not contact.phone:
            raise ValueError("the contact has no phone number")
        body = self._body.render(contact=template_contact(contact))
        parts = compose(body, self.mention_text(contact.public_id))
        # The delivery's id (never the number) tells the status callback which row it is about.
        callback = f"{self.status_callback}?d={delivery_id}"
        return OutgoingSms(contact.phone, parts, validity_period, callback)

    def preview(self) -> SmsPreview:
        """The campaign's SMS for the sample contact, as the preview and the API show it."""
        parts = compose(self._body.render(contact=SAMPLE_CONTACT), self.mention_text(None))
        encoding = "UCS-2" if any(measure(p).encoding == "UCS-2" for p in parts) else "GSM-7"
        return SmsPreview(parts, encoding, total_segments(parts))
