"""Composer settings (images, test sends, pre-send checks), read from the environment with config.py."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sender.config import env_int


@dataclass(frozen=True)
class ComposerSettings:
    """Image limits, how many addresses one test send may name, and the bounds of the link check."""

    media_max_bytes: int = 5 * 1024 * 1024
    media_max_width: int = 1200
    test_send_max_addresses: int = 5
    link_check_max_links: int = 20
    link_check_timeout: float = 5.0
    link_check_concurrency: int = 4


def load_composer_settings(env: Mapping[str, str]) -> ComposerSettings:
    """The composer's settings from the environment; ConfigError names a bad one."""
    return ComposerSettings(
        media_max_bytes=env_int(env, "MEDIA_MAX_BYTES", 5 * 1024 * 1024, minimum=1024),
        media_max_width=env_int(env, "MEDIA_MAX_WIDTH", 1200, minimum=16),
        test_send_max_addresses=env_int(env, "TEST_SEND_MAX_ADDRESSES", 5),
        link_check_max_links=env_int(env, "LINK_CHECK_MAX_LINKS", 20, minimum=0),
        link_check_timeout=float(env_int(env, "LINK_CHECK_TIMEOUT", 5)),
        link_check_concurrency=env_int(env, "LINK_CHECK_CONCURRENCY", 4),
    )
