"""The sender-authentication and circuit-breaker settings: defaults, and a precise error for each bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from sender.config import ConfigError, load_settings
from sender.config_guard import Nameserver


def _load(tmp_path: Path, **env: str) -> object:
    return load_settings(
        {"INSTANCE_PATH": str(tmp_path), "HASH_KEY": "k" * 20, "SECRET_KEYS": "s" * 20, **env}
    )


def test_defaults_are_the_providers_thresholds(tmp_path: Path) -> None:
    guard = load_settings({"INSTANCE_PATH": str(tmp_path)}).guard
    assert (guard.complaint_warn, guard.complaint_pause, guard.bounce_warn, guard.bounce_pause) == (
        0.1,
        0.3,
        2.0,
        5.0,
    )
    assert (guard.breaker_window_hours, guard.breaker_min_sent) == (24, 100)
    assert not guard.dkim_enabled and guard.dns_nameservers == ()


def test_values_are_read(tmp_path: Path) -> None:
    key = tmp_path / "k.pem"
    key.write_text("x")
    guard = load_settings(
        {
            "INSTANCE_PATH": str(tmp_path),
            "DKIM_SELECTOR": "S2027",
            "DKIM_DOMAIN": "Exämple.fr",
            "DKIM_PRIVATE_KEY_FILE": str(key),
            "DNS_NAMESERVERS": "127.0.0.1:5353, ::1",
            "COMPLAINT_PAUSE_RATE": "0.5%",
            "BREAKER_MIN_SENT": "1000",
        }
    ).guard
    assert (guard.dkim_selector, guard.dkim_domain, guard.dkim_enabled) == (
        "s2027",
        "xn--exmple-cua.fr",
        True,
    )
    assert guard.dns_nameservers == (Nameserver("127.0.0.1", 5353), Nameserver("::1", 53))
    assert (guard.complaint_pause, guard.breaker_min_sent) == (0.5, 1000)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DKIM_SELECTOR", "bad selector", "DKIM_SELECTOR"),
        ("DKIM_DOMAIN", "not a domain", "DKIM_DOMAIN"),
        ("DKIM_PRIVATE_KEY_FILE", "/nonexistent/key.pem", "DKIM_PRIVATE_KEY_FILE"),
        ("DNS_NAMESERVERS", "dns.example", "DNS_NAMESERVERS"),
        ("DNS_NAMESERVERS", "127.0.0.1:0", "DNS_NAMESERVERS"),
        ("COMPLAINT_PAUSE_RATE", "abc", "COMPLAINT_PAUSE_RATE"),
        ("BOUNCE_PAUSE_RATE", "0", "BOUNCE_PAUSE_RATE"),
        ("BREAKER_WINDOW_HOURS", "-1", "BREAKER_WINDOW_HOURS"),
        ("COMPLAINT_WARN_RATE", "0.5", "COMPLAINT_WARN_RATE"),
    ],
)
def test_a_bad_value_names_its_variable(tmp_path: Path, name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _load(tmp_path, **{name: value})
