"""Assembly of campaign SMS: the rendered body of one person in, the SMS to create at Twilio out.

The body comes from the campaign's text template (the send path renders it in the sandbox); this adds the
mentions no template can remove (sender name, STOP instruction, and the portal link when SMS_PORTAL_LINK
is on), in the same SMS when they fit and in a second one otherwise (R19, R21); the validity period that
keeps a queued marketing SMS from arriving after the recipient's window closes (R15); and the status
callback URL, which names the delivery by its id only. A test SMS (assemble_test) has the same text, marked.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sender.channels.base import TEST_MARK, Content, RenderFailed
from sender.channels.sms.content import compose, mentions
from sender.channels.sms.quiet_hours import place_of, window
from sender.channels.sms.twilio import OutgoingSms
from sender.config import Settings
from sender.enums import CampaignKind, DeliveryReason
from sender.models import Campaign

STATUS_CALLBACK_PATH = "/webhooks/twilio/status"
INBOUND_PATH = "/webhooks/twilio/inbound"


class SmsAssembler:
    """Builds one campaign's SMS; made once per batch and shared by the sending threads."""

    def __init__(self, settings: Settings, campaign: Campaign) -> None:
        self.settings = settings
        # A legal notice is not marketing: it names its sender but offers no STOP, and quiet hours do not apply.
        self.marketing = campaign.kind != CampaignKind.LEGAL_NOTICE
        self.status_callback = f"{settings.public_base_url}{STATUS_CALLBACK_PATH}"

    def mention_text(self, portal_url: str | None, locale: str) -> str:
        """The mentions of one SMS, in the person's language."""
        sms = self.settings.sms
        link = portal_url if sms.portal_link else None
        return mentions(sms.sender_name, sms.stop_text if self.marketing else "", link, locale=locale)

    def validity_period(self, address: str, at: datetime) -> int | None:
        """Seconds until the recipient's window closes (Twilio's ValidityPeriod), for marketing SMS."""
        if not self.marketing:
            return None
        place = place_of(address, getattr(address, "timezone", None), getattr(address, "country", None))
        now = window(self.settings.sms, place, at)
        if not now.allowed:
            # The send path defers such deliveries before rendering; reaching here means the window just shut.
            raise RenderFailed("the recipient's quiet hours began", reason=DeliveryReason.QUIET_HOURS)
        return now.validity_period(at)

    def assemble(self, address: str, content: Content, delivery_id: int) -> OutgoingSms:
        """The SMS of one person, mentions included."""
        parts = compose(content.text, self.mention_text(content.portal_url, content.locale))
        validity = self.validity_period(address, datetime.now(UTC).replace(tzinfo=None))
        # The delivery's id (never the number) tells the status callback which row it is about.
        return OutgoingSms(str(address), parts, validity, f"{self.status_callback}?d={delivery_id}")

    def assemble_test(self, address: str, content: Content) -> OutgoingSms:
        """A test SMS: its text starts with TEST_MARK and carries the same mentions; it goes now, unreported."""
        parts = compose(
            TEST_MARK + content.text.strip(), self.mention_text(content.portal_url, content.locale)
        )
        # The tester asked for it now, on their own phone: quiet hours protect an audience, and no validity
        # period is needed. No delivery row waits for Twilio's status callback either.
        return OutgoingSms(str(address), parts)
