"""Outgoing webhook settings: safe defaults, and a bad value stops start-up naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from sender.config import ConfigError
from sender.config_outgoing import OutgoingSettings, load_outgoing_settings


def test_the_defaults_refuse_private_receivers_and_retry_for_a_day() -> None:
    loaded = load_outgoing_settings({})
    assert loaded == OutgoingSettings()
    assert (loaded.allow_private, loaded.retry_hours, loaded.ca_file) == (False, 24, "")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WEBHOOKS_ALLOW_PRIVATE", "yes"),
        ("WEBHOOKS_ALLOW_PRIVATE", "2"),
        ("WEBHOOKS_TIMEOUT", "0"),
        ("WEBHOOKS_FIRST_RETRY", "soon"),
        ("WEBHOOKS_RETRY_HOURS", "0"),
        ("WEBHOOKS_DISABLE_AFTER", "-1"),
        ("WEBHOOKS_CA_FILE", "/nowhere/ca.pem"),
        ("TRANSACTIONAL_LINK_HOSTS", "https://example.org/"),
        ("TRANSACTIONAL_LINK_HOSTS", "example.org,shop example.org"),
    ],
)
def test_a_bad_setting_stops_start_up_naming_it(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_outgoing_settings({name: value})
    assert name in str(caught.value)


def test_a_lab_may_allow_private_receivers_and_trust_its_own_ca(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    loaded = load_outgoing_settings({"WEBHOOKS_ALLOW_PRIVATE": "1", "WEBHOOKS_CA_FILE": str(ca)})
    assert (loaded.allow_private, loaded.ca_file) == (True, str(ca))


def test_transactional_link_hosts_are_a_lower_case_list() -> None:
    loaded = load_outgoing_settings({"TRANSACTIONAL_LINK_HOSTS": "Example.org, shop.example.org,"})
    assert loaded.transactional_link_hosts == ("example.org", "shop.example.org")
