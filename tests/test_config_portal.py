"""Settings of the public side: link lifetimes, language, rate limits, proxies."""

from __future__ import annotations

from pathlib import Path

import pytest

from sender.config import ConfigError, load_settings


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"INSTANCE_PATH": str(tmp_path), "SECRET_KEYS": "k" * 20, "HASH_KEY": "h" * 20, **extra}


def test_defaults(tmp_path: Path) -> None:
    settings = load_settings(_env(tmp_path))

    assert settings.portal_link_ttl == 72 * 3600
    assert settings.signup_ttl_days == 7
    assert settings.default_locale == "fr"
    assert settings.public_rate_limit == "30 per minute;300 per hour"
    assert settings.proxy_hops == 0


def test_values_are_read(tmp_path: Path) -> None:
    settings = load_settings(_env(
        tmp_path, PORTAL_LINK_TTL="3600", SIGNUP_TTL_DAYS="2", DEFAULT_LOCALE="EN",
        PUBLIC_RATE_LIMIT="5/minute", PROXY_HOPS="1",
    ))  # fmt: skip

    assert (settings.portal_link_ttl, settings.signup_ttl_days, settings.default_locale) == (3600, 2, "en")
    assert (settings.public_rate_limit, settings.proxy_hops) == ("5/minute", 1)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PORTAL_LINK_TTL", "10"),
        ("PORTAL_LINK_TTL", "soon"),
        ("SIGNUP_TTL_DAYS", "0"),
        ("DEFAULT_LOCALE", "de"),
        ("PUBLIC_RATE_LIMIT", "lots"),
        ("PROXY_HOPS", "-1"),
    ],
)
def test_bad_values_name_the_variable(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        load_settings(_env(tmp_path, **{name: value}))
