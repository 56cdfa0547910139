"""Outgoing webhook and transactional message settings (issue 22), read from the environment with config.py (no Flask here)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sender.config import ConfigError, env_int


@dataclass(frozen=True)
class OutgoingSettings:
    """How sender delivers signed events: whom it may connect to, how long it retries, when it gives up."""

    # The SSRF rule's one exception: private, loopback and link-local receivers (a lab, a test).
    allow_private: bool = False
    # A CA bundle trusted besides the system's, for a receiver with a private CA (tests, an intranet).
    ca_file: str = ""
    timeout_seconds: int = 10
    # The first retry's delay; each next one doubles, until the window is over.
    first_retry_seconds: int = 30
    retry_hours: int = 24
    # Failed attempts in a row (across deliveries) after which an endpoint is disabled and admins told.
    disable_after: int = 40
    # The hosts whose links a transactional message may carry; empty: the host of PUBLIC_BASE_URL only.
    transactional_link_hosts: tuple[str, ...] = ()


def _ca_file(env: Mapping[str, str]) -> str:
    raw = (env.get("WEBHOOKS_CA_FILE") or "").strip()
    if raw and not Path(raw).is_file():
        raise ConfigError("WEBHOOKS_CA_FILE must name a readable PEM file of CA certificates")
    return raw


# A host name as links carry it: labels of letters, digits and hyphens, dot-separated.
_HOST = re.compile(
    r"^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$"
)


def _link_hosts(env: Mapping[str, str]) -> tuple[str, ...]:
    hosts = tuple(
        h.strip().lower() for h in (env.get("TRANSACTIONAL_LINK_HOSTS") or "").split(",") if h.strip()
    )
    if not all(_HOST.match(host) for host in hosts):
        raise ConfigError(
            "TRANSACTIONAL_LINK_HOSTS must be host names separated by commas (example.org,shop.example.org)"
        )
    return hosts


def load_outgoing_settings(env: Mapping[str, str]) -> OutgoingSettings:
    """The outgoing webhook settings from the environment; ConfigError names a bad one."""
    allow = env_int(env, "WEBHOOKS_ALLOW_PRIVATE", 0, minimum=0)
    if allow > 1:
        raise ConfigError("WEBHOOKS_ALLOW_PRIVATE must be 0 or 1")
    return OutgoingSettings(
        allow_private=allow == 1,
        ca_file=_ca_file(env),
        timeout_seconds=env_int(env, "WEBHOOKS_TIMEOUT", 10),
        first_retry_seconds=env_int(env, "WEBHOOKS_FIRST_RETRY", 30),
        retry_hours=env_int(env, "WEBHOOKS_RETRY_HOURS", 24),
        disable_after=env_int(env, "WEBHOOKS_DISABLE_AFTER", 40),
        transactional_link_hosts=_link_hosts(env),
    )
