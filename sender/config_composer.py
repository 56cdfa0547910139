"""Composer settings (images, test sends, pre-send checks), read from the environment with config.py."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sender.config import ConfigError


@dataclass(frozen=True)
class ComposerSettings:
    """Image limits, how many addresses one test send may name, and the bounds of the link check."""

    media_max_bytes: int = 5 * 1024 * 1024
    media_max_width: int = 1200
    test_send_max_addresses: int = 5
    link_check_max_links: int = 20
    link_check_timeout: float = 5.0
    link_check_concurrency: int = 4


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 1) -> int:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def load_composer_settings(env: Mapping[str, str]) -> ComposerSettings:
    """The composer's settings from the environment; ConfigError names a bad one."""
    return ComposerSettings(
        media_max_bytes=_int(env, "MEDIA_MAX_BYTES", 5 * 1024 * 1024, minimum=1024),
        media_max_width=_int(env, "MEDIA_MAX_WIDTH", 1200, minimum=16),
        test_send_max_addresses=_int(env, "TEST_SEND_MAX_ADDRESSES", 5),
        link_check_max_links=_int(env, "LINK_CHECK_MAX_LINKS", 20, minimum=0),
        link_check_timeout=float(_int(env, "LINK_CHECK_TIMEOUT", 5)),
        link_check_concurrency=_int(env, "LINK_CHECK_CONCURRENCY", 4),
    )
