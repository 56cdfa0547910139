"""The channel registry: every channel of the enum is a package satisfying `Channel`, and its facts are
what the consent gate, the composer, the rights and the imports read instead of writing channels out."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime

import pytest
from babel.messages.pofile import read_po
from sqlalchemy.orm import Session

from sender.addresses import AddressError
from sender.channels.base import Channel, address_columns, channels, get_channel
from sender.config import Settings
from sender.enums import Channel as ChannelName
from sender.models import Contact
from sender.paths import resource_dir
from sender.services.audience.import_write import _grant_key
from sender.services.consent import gate
from tests.factories import CampaignFactory, ContactFactory, PurposeFactory

TEMPLATES = {"subject", "text", "html"}


def test_every_channel_of_the_enum_is_registered_in_its_order() -> None:
    assert [channel.name for channel in channels()] == list(ChannelName)
    assert all(get_channel(name) is channel for name, channel in zip(ChannelName, channels(), strict=True))


@pytest.mark.parametrize("name", list(ChannelName))
def test_each_channel_satisfies_the_protocol_with_coherent_facts(name: str) -> None:
    channel = get_channel(name)
    assert isinstance(channel, Channel)
    assert hasattr(Contact, channel.address.column) and hasattr(Contact, channel.address.hash_column)
    assert channel.content.parts and set(channel.content.parts) <= TEMPLATES
    assert "text" in channel.content.required <= set(channel.content.parts)
    assert all(limit > 0 for limit in channel.content.limits.values())
    assert channel.processor.name and channel.processor.role and channel.processor.country
    assert channel.processor.safeguards


def test_each_label_is_in_the_french_catalogue() -> None:
    french = read_po((resource_dir("translations") / "fr" / "LC_MESSAGES" / "messages.po").open("rb"))
    assert all(french.get(channel.label) and french[channel.label].string for channel in channels())


def test_address_columns_are_every_address_and_hash_once() -> None:
    assert address_columns() == ("email", "email_hash", "phone", "phone_hash")


def test_each_channel_normalises_its_own_address(settings: Settings) -> None:
    assert get_channel("email").normalise(" Camille@Example.ORG ", settings) == "camille@example.org"
    assert get_channel("sms").normalise("06 12 34 56 78", settings) == "+33612345678"
    for name, bad in (("email", "not an address"), ("sms", "12")):
        channel = get_channel(name)
        with pytest.raises(AddressError) as refused:
            channel.normalise(bad, settings)
        assert refused.value.field == channel.address.column


def test_email_is_never_held_and_sms_is_held_outside_quiet_hours(
    db_session: Session, settings: Settings
) -> None:
    purpose = PurposeFactory()
    contact = ContactFactory(phone="+33612345678", timezone="Europe/Paris", country="FR")
    # 23:30 in Paris on a Tuesday: outside every SMS window, any time for email.
    night = datetime(2026, 12, 1, 22, 30)
    email = CampaignFactory(purpose_id=purpose.id, channel="email")
    sms = CampaignFactory(purpose_id=purpose.id, channel="sms", subject="", body_html="")
    assert get_channel("email").hold_until(settings, email, contact, night) is None
    held = get_channel("sms").hold_until(settings, sms, contact, night)
    assert held is not None and held > night


def test_only_a_channel_of_text_alone_is_text_only() -> None:
    """The staff composer and A/B page hide the subject and HTML of such a channel (SMS), not of email."""
    assert get_channel("sms").content.text_only and not get_channel("email").content.text_only
    assert all(channel.content.text_only == (channel.content.parts == ("text",)) for channel in channels())


def test_only_the_processors_that_leave_the_eea_name_a_transfer() -> None:
    assert get_channel("email").processor.transfer is None
    assert get_channel("sms").processor.transfer == "Twilio Inc., United States"


def test_the_address_facts_need_no_settings_at_all() -> None:
    """The consent gate must work for a channel whose transport is not configured: importing needs nothing."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "SMTP_", "SMS_", "EMAIL_"))}
    script = (
        "from sender.channels.base import channels\n"
        "print(';'.join(f'{c.name}={c.address.column},{c.address.hash_column}' for c in channels()))"
    )
    answer = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True, timeout=60
    )
    expected = ";".join(f"{c.name}={c.address.column},{c.address.hash_column}" for c in channels())
    assert answer.stdout.strip() == expected


@pytest.mark.parametrize("name", list(ChannelName))
def test_the_gate_refuses_a_contact_without_the_channels_address(db_session: Session, name: str) -> None:
    purpose = PurposeFactory()
    contact = ContactFactory(email=None, email_hash=None, phone=None, phone_hash=None)
    assert gate.check(db_session, contact.id, purpose.id, name).reason == "no_address"


def test_grant_keys_of_an_import_are_distinct_per_row_and_channel() -> None:
    keys = [_grant_key(label, channel) for label in range(-3, 4) for channel in ChannelName]
    assert len(set(keys)) == len(keys)
