"""Links that confirm an action through the person's own address: an erasure, a corrected address.

A confirmation goes over the channel of the address it proves: email, or SMS where SMS is configured (a
channel is usable once COMPOSERS writes its messages and its `missing_settings()` is empty; a channel with
no composer is never chosen, so its address is refused at the field rather than failing in the job). It is
sent by a job after the request's commit, never from inside the request, and carries only a signed link
(kind "erase" or "address").
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from sender.channels.base import Channel, channels, get_channel
from sender.channels.sms.twilio import OutgoingSms
from sender.config import Settings
from sender.enums import Channel as ChannelName
from sender.i18n import email_env
from sender.models import Contact
from sender.services.accounts import organisation
from sender.services.messages import system_email

# The system message of each kind of confirmation (templates/email/system/ and templates/sms/system/).
MESSAGES = {"erase": "erasure_confirm", "address": "address_confirm", "signup": "signup_confirm"}
# Where each kind of link is opened.
PATHS = {"erase": "/erase/", "address": "/address/", "signup": "/signup/confirm/"}


def usable(settings: Settings, channel: Channel) -> bool:
    """Whether a system message can go out on this channel: one is written for it (COMPOSERS), and the
    current settings are complete."""
    return channel.name in COMPOSERS and not channel.missing_settings(settings)


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


def _by_email(session: Session, settings: Settings, address: str, locale: str, kind: str, link: str) -> Send:
    # From the organisation's effective sender (NotConfigured naming what is missing, before anything leaves).
    message = system_email.build(
        session, settings, MESSAGES[kind], address, locale, confirm_url=link,
        hours=settings.portal_link_ttl // 3600, days=settings.signup_ttl_days,
    )  # fmt: skip
    effective = organisation.effective_settings(session, settings)
    return lambda: system_email.send(effective, message).outcome


def _by_sms(session: Session, settings: Settings, address: str, locale: str, kind: str, link: str) -> Send:
    effective = organisation.effective_settings(session, settings)
    text = (
        email_env(locale)
        .get_template(f"sms/system/{MESSAGES[kind]}.txt")
        .render(org_name=effective.sms.sender_name, confirm_url=link)
    )
    # One line: the template's line breaks are for reading its source only.
    sms = OutgoingSms(str(address), (" ".join(text.split()),))

    def send() -> str:
        with get_channel(ChannelName.SMS).transport(effective) as transport:
            return transport.send(sms).outcome

    return send


# A confirmation ready to leave: built within the session, sent once it is closed (no network call in it).
Send = Callable[[], str]

COMPOSERS: dict[str, Callable[[Session, Settings, str, str, str, str], Send]] = {
    ChannelName.EMAIL: _by_email,
    ChannelName.SMS: _by_sms,
}


def compose(
    session: Session, settings: Settings, channel: Channel, address: str, locale: str, kind: str, token: str
) -> Send:
    """Build one confirmation link's message for `address` over `channel`; call the result to send it."""
    return COMPOSERS[channel.name](session, settings, address, locale, kind, url(settings, kind, token))
