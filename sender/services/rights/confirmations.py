"""Links that confirm an action through the person's own address: an erasure, a corrected address.

A confirmation goes over the channel of the address it proves: email, or SMS where SMS is configured (a
channel is usable once its `missing_settings()` is empty). It is sent by a job after the request's commit,
never from inside the request, and carries only a signed link (kind "erase" or "address").
"""

from __future__ import annotations

from collections.abc import Callable

from sender.channels.base import Channel, channels, get_channel
from sender.channels.sms.twilio import OutgoingSms
from sender.config import Settings
from sender.enums import Channel as ChannelName
from sender.i18n import email_env
from sender.models import Contact
from sender.services.messages import system_email

# The system message of each kind of confirmation (templates/email/system/ and templates/sms/system/).
MESSAGES = {"erase": "erasure_confirm", "address": "address_confirm", "signup": "signup_confirm"}
# Where each kind of link is opened.
PATHS = {"erase": "/erase/", "address": "/address/", "signup": "/signup/confirm/"}


def usable(settings: Settings, channel: Channel) -> bool:
    """Whether a system message can go out on this channel with the current settings."""
    return not channel.missing_settings(settings)


def can_confirm(settings: Settings, channel_name: str) -> bool:
    """Whether a confirmation link can be sent on the named channel now."""
    return usable(settings, get_channel(channel_name))


def channel_for(settings: Settings, field: str) -> Channel | None:
    """The usable channel whose address lives in this contact field, or None."""
    for channel in channels():
        if channel.address.column == field and usable(settings, channel):
            return channel
    return None


def reachable(settings: Settings, contact: Contact) -> Channel | None:
    """The first usable channel the person has an address for (the registry's order), or None."""
    for channel in channels():
        if channel.address.of(contact) and usable(settings, channel):
            return channel
    return None


def url(settings: Settings, kind: str, token: str) -> str:
    """The absolute URL of a confirmation link."""
    return f"{settings.public_base_url}{PATHS[kind]}{token}"


def _by_email(settings: Settings, address: str, locale: str, kind: str, link: str) -> str:
    message = system_email.build(
        settings, MESSAGES[kind], address, locale, confirm_url=link,
        hours=settings.portal_link_ttl // 3600, days=settings.signup_ttl_days,
    )  # fmt: skip
    return system_email.send(settings, message).outcome


def _by_sms(settings: Settings, address: str, locale: str, kind: str, link: str) -> str:
    text = (
        email_env(locale)
        .get_template(f"sms/system/{MESSAGES[kind]}.txt")
        .render(org_name=settings.sms.sender_name or settings.org_name, confirm_url=link)
    )
    # One line: the template's line breaks are for reading its source only.
    transport = get_channel(ChannelName.SMS).transport(settings)
    with transport:
        return transport.send(OutgoingSms(str(address), (" ".join(text.split()),))).outcome


SENDERS: dict[str, Callable[[Settings, str, str, str, str], str]] = {
    ChannelName.EMAIL: _by_email,
    ChannelName.SMS: _by_sms,
}


def send(settings: Settings, channel: Channel, address: str, locale: str, kind: str, token: str) -> str:
    """Send one confirmation link to `address` over `channel`; returns the provider's outcome."""
    return SENDERS[channel.name](settings, address, locale, kind, url(settings, kind, token))
