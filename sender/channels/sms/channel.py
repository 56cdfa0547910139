"""SMS as a channel: the contact's E.164 phone, text with mentions, the Twilio transport, Twilio's answers."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sender.addresses import normalize_phone
from sender.channels.base import (
    ContactAddress,
    ContentRules,
    Processor,
    SendResult,
    Transport,
    Verdict,
    default_verdict,
)
from sender.channels.sms.assemble import SmsAssembler
from sender.channels.sms.content import too_long
from sender.channels.sms.quiet_hours import place_of, window
from sender.channels.sms.twilio import BACK_OFF, OPTED_OUT, TwilioTransport, shared_client
from sender.config import Rate, Settings
from sender.enums import CampaignKind, DeliveryReason, SuppressionReason, TransferMechanism
from sender.i18n import N_
from sender.models import Campaign, Contact, Purpose

# A window closing sooner than this is treated as closed: the message could not arrive before it shuts.
MIN_WINDOW = timedelta(seconds=60)


class PhoneAddress(str):
    """A contact's E.164 number, carrying the contact's own time zone and country for the quiet hours."""

    timezone: str | None
    country: str | None

    def __new__(cls, phone: str, timezone: str | None = None, country: str | None = None) -> PhoneAddress:
        value = super().__new__(cls, phone)
        value.timezone, value.country = timezone, country
        return value


class SmsAddress(ContactAddress):
    """The phone columns, handing out the number with the contact's overrides for quiet hours."""

    def of(self, contact: Contact) -> str | None:
        """The contact's E.164 number (a PhoneAddress), or None."""
        if not contact.phone:
            return None
        return PhoneAddress(contact.phone, contact.timezone, contact.country)


def missing_sms_settings(settings: Settings) -> dict[str, str]:
    """An SMS campaign needs a Twilio sender, the sender's name and a STOP instruction (R18, R19)."""
    sms, errors = settings.sms, {}
    if not sms.configured:
        errors["TWILIO_ACCOUNT_SID"] = (
            "Twilio is not configured: set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and "
            "TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM"
        )
    if not sms.sender_name:
        errors["SMS_SENDER_NAME"] = (
            "every SMS names its sender: set the legal name on the Organisation page, or SMS_SENDER_NAME"
        )
    if not sms.stop_text:
        errors["SMS_STOP_TEXT"] = "every marketing SMS says how to stop, e.g. SMS_STOP_TEXT='STOP au 36123'"
    return errors


class SmsChannel:
    """The SMS channel; stateless, registered once as "sms"."""

    name = "sms"
    label = N_("SMS")
    address: ContactAddress = SmsAddress("phone", "phone_hash")
    # An SMS is only its text: the size that counts is the rendered text's, in segments (R21).
    content = ContentRules({"text": 500_000}, required=frozenset({"text"}), check_text=too_long)
    processor = Processor(
        "Twilio Inc.",
        "delivers SMS",
        "United States",
        "Binding Corporate Rules (processor) and Standard Contractual Clauses (GDPR Art. 46-47)",
        transfer="Twilio Inc., United States",
        country_code="US",
        mechanism=TransferMechanism.BCR,
    )

    def normalise(self, raw: str, settings: Settings) -> str:
        """The number in E.164; a national number is read in DEFAULT_PHONE_REGION."""
        return normalize_phone(raw, settings.default_phone_region, self.address.column)

    def missing_settings(self, settings: Settings) -> dict[str, str]:
        """Twilio account and sender, the sender's name (SMS_SENDER_NAME or the legal name), SMS_STOP_TEXT."""
        return missing_sms_settings(settings)

    def processor_host(self, settings: Settings) -> str | None:
        """Twilio's API host once an account is configured; None before."""
        return urlsplit(settings.sms.api_base_url).hostname if settings.sms.configured else None

    def assembler(self, settings: Settings, campaign: Campaign, purpose: Purpose) -> SmsAssembler:
        """Text with mentions, validity period and status callback."""
        return SmsAssembler(settings, campaign)

    def transport(self, settings: Settings) -> Transport[Any]:
        """A transport on this process's one Twilio client (its pool serves every sending thread)."""
        return TwilioTransport(settings.sms, shared_client(settings.sms))

    def verdict(self, result: SendResult) -> Verdict:
        """21610: the person opted out (suppress, never retry); 429 / queue overflow: slow down."""
        if result.outcome_unknown:
            return Verdict("unknown", DeliveryReason.OUTCOME_UNKNOWN)
        if result.code == OPTED_OUT:
            return Verdict("failed", DeliveryReason.OPTED_OUT, suppress=SuppressionReason.CARRIER_OPT_OUT)
        if result.outcome == "temporary" and result.code in BACK_OFF:
            return Verdict("retry", throttled=True)
        return default_verdict(result, suppress=SuppressionReason.INVALID_NUMBER)

    def connections(self, settings: Settings) -> int:
        """SMS_CONCURRENCY calls in flight per worker."""
        return settings.sms.concurrency

    def rate_limits(self, settings: Settings) -> tuple[Rate, ...]:
        """SMS_MAX_RATE: the sender's messages per second, shared by every worker (R67)."""
        return settings.sms.max_rate

    def hold_until(
        self, settings: Settings, campaign: Campaign, contact: Contact, at: datetime
    ) -> datetime | None:
        """When a marketing SMS outside the recipient's quiet-hours window may go (None: now) (R14)."""
        if campaign.kind == CampaignKind.LEGAL_NOTICE or not contact.phone:
            return None
        place = place_of(contact.phone, contact.timezone, contact.country)
        now = window(settings.sms, place, at)
        if not now.allowed:
            # No open day within a month (a rule whose every day is a holiday): look again tomorrow.
            return now.next_slot or at + timedelta(days=1)
        assert now.closes_at is not None
        if now.closes_at - at >= MIN_WINDOW:
            return None
        # At its closing moment the window is shut: the next one opens at the next slot.
        return window(settings.sms, place, now.closes_at).next_slot or at + timedelta(days=1)
