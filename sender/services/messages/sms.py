"""SMS campaign content: the body template is checked when saved, and its size shown before sending.

The body is the campaign's `body_text`, a sandboxed Jinja2 template. The SMS channel adds the mentions
(channels/sms/assemble.py); the preview shows the complete SMS for a sample contact, with its encoding
and segment count, so a marketer sees what every person will be billed for (R21); with an A/B test, the SMS
of the variant asked for (variants.py), as the worker renders it for that variant's batches.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from sender.channels.base import get_channel
from sender.channels.sms.assemble import SmsAssembler
from sender.channels.sms.content import compose, measure, total_segments
from sender.config import Settings
from sender.enums import Channel
from sender.i18n import N_, pick_locale
from sender.models import Campaign
from sender.services.accounts import organisation
from sender.services.errors import ValidationFailed
from sender.services.messages import variants
from sender.services.messages.rendering import check_templates
from sender.services.messages.sandbox import SAMPLE_CONTACT, compile_template

# A portal link's length in the preview: scheme and host, /p/, then a signed token of a real link's size.
_SAMPLE_TOKEN = "x" * 88


@dataclass(frozen=True)
class SmsPreview:
    """How a campaign's SMS travels for a sample contact: the texts, their encoding and segments."""

    parts: tuple[str, ...]
    encoding: str
    segments: int

    @property
    def characters(self) -> int:
        """Characters of every SMS together, mentions included."""
        return sum(len(part) for part in self.parts)

    def as_dict(self) -> dict[str, object]:
        """JSON form for the API."""
        return {
            "messages": len(self.parts),
            "encoding": self.encoding,
            "segments": self.segments,
            "texts": list(self.parts),
        }


def validate_sms_body(body_text: str) -> None:
    """The SMS body: a valid template that alone fits in one message of at most MAX_SEGMENTS segments."""
    if not body_text.strip():
        raise ValidationFailed({"body_text": N_("is required")})
    check_templates(get_channel(Channel.SMS), "", "", body_text)


def preview(
    session: Session, settings: Settings, campaign: Campaign, variant: int | None = None
) -> SmsPreview:
    """The campaign's SMS (of an A/B test's `variant`) for the sample contact, mentions included (the
    organisation's effective name)."""
    settings = organisation.effective_settings(session, settings)
    text = variants.parts(campaign, variant).body_text
    body = compile_template(text, html=False).render(contact=SAMPLE_CONTACT)
    link = f"{settings.public_base_url}/p/{_SAMPLE_TOKEN}"
    # The mentions in the campaign's language, as a contact without a language of their own gets them.
    locale = pick_locale(campaign.locale, default=settings.default_locale)
    parts = compose(body, SmsAssembler(settings, campaign).mention_text(link, locale))
    encoding = "UCS-2" if any(measure(p).encoding == "UCS-2" for p in parts) else "GSM-7"
    return SmsPreview(parts, encoding, total_segments(parts))
