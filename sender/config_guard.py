"""Sender authentication (DKIM, DNS checks) and circuit-breaker settings, read from the environment.

The DKIM selector, domain and key can also be set on the Organisation page; the resolver
(services/accounts/organisation.effective_settings) fills them in, and an environment variable wins.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sender.config import ConfigError, env_int

# A DNS label (selector) and a domain in ASCII (IDNA): letters, digits, inner hyphens.
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_DOMAIN = re.compile(r"(?=.{1,253}$)(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))+")


@dataclass(frozen=True)
class Nameserver:
    """A DNS server to ask instead of the system's (tests point it at their own)."""

    host: str
    port: int = 53


@dataclass(frozen=True)
class GuardSettings:
    """DKIM signing, the DNS resolver of the deliverability check, and the circuit breaker's thresholds."""

    # DKIM signs every outgoing email when all three are set (environment, else the Organisation page).
    dkim_selector: str = ""
    dkim_domain: str = ""
    dkim_key_file: Path | None = None
    # Empty: the system's resolver (/etc/resolv.conf).
    dns_nameservers: tuple[Nameserver, ...] = ()
    # Rates count the messages sent in the last BREAKER_WINDOW_HOURS and the reports about them.
    breaker_window_hours: int = 24
    # Below this many messages sent in the window, nothing is paused (one bounce out of three is no trend).
    breaker_min_sent: int = 100
    # Percentages of the messages sent in the window.
    complaint_warn: float = 0.1
    complaint_pause: float = 0.3
    bounce_warn: float = 2.0
    bounce_pause: float = 5.0

    @property
    def dkim_enabled(self) -> bool:
        """True when selector, domain and a key file are all known."""
        return bool(self.dkim_selector and self.dkim_domain and self.dkim_key_file)


def dkim_selector(raw: str) -> str:
    """A selector in lower case, or ValueError."""
    value = raw.strip().lower()
    if not all(_LABEL.fullmatch(label) for label in value.split(".")):
        raise ValueError("a selector is one or more DNS labels such as s2027")
    return value


def domain_name(raw: str) -> str:
    """A domain name in IDNA, lower case, or ValueError."""
    value = raw.strip().lower().rstrip(".")
    try:
        value = value.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError("not a domain name") from None
    if not _DOMAIN.fullmatch(value):
        raise ValueError("not a domain name such as example.org")
    return value


def _nameservers(raw: str) -> tuple[Nameserver, ...]:
    servers = []
    for part in filter(None, (p.strip() for p in raw.split(","))):
        host, _, port = part.rpartition(":") if part.count(":") == 1 else (part, "", "")
        try:
            ipaddress.ip_address(host.strip("[]"))
            number = int(port) if port else 53
        except ValueError:
            raise ConfigError(
                f"DNS_NAMESERVERS must be IP addresses, each with an optional :port, got {part!r}"
            ) from None
        if not 0 < number < 65536:
            raise ConfigError(f"DNS_NAMESERVERS port must be from 1 to 65535, got {part!r}")
        servers.append(Nameserver(host.strip("[]"), number))
    return tuple(servers)


def _percent(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = float(raw.rstrip("% "))
    except ValueError:
        raise ConfigError(f"{name} must be a percentage such as 0.3, got {raw!r}") from None
    if not 0 < value <= 100:
        raise ConfigError(f"{name} must be more than 0 and at most 100, got {raw!r}")
    return value


def load_guard_settings(env: Mapping[str, str]) -> GuardSettings:
    """The settings from the environment; ConfigError names any bad variable."""
    try:
        selector = dkim_selector(env["DKIM_SELECTOR"]) if env.get("DKIM_SELECTOR") else ""
    except ValueError as exc:
        raise ConfigError(f"DKIM_SELECTOR: {exc}") from None
    try:
        domain = domain_name(env["DKIM_DOMAIN"]) if env.get("DKIM_DOMAIN") else ""
    except ValueError as exc:
        raise ConfigError(f"DKIM_DOMAIN: {exc}") from None
    key_file = Path(env["DKIM_PRIVATE_KEY_FILE"]) if env.get("DKIM_PRIVATE_KEY_FILE") else None
    if key_file is not None and not key_file.is_file():
        raise ConfigError("DKIM_PRIVATE_KEY_FILE must name a readable PEM file")
    settings = GuardSettings(
        dkim_selector=selector,
        dkim_domain=domain,
        dkim_key_file=key_file,
        dns_nameservers=_nameservers(env.get("DNS_NAMESERVERS", "")),
        breaker_window_hours=env_int(env, "BREAKER_WINDOW_HOURS", 24),
        breaker_min_sent=env_int(env, "BREAKER_MIN_SENT", 100),
        complaint_warn=_percent(env, "COMPLAINT_WARN_RATE", 0.1),
        complaint_pause=_percent(env, "COMPLAINT_PAUSE_RATE", 0.3),
        bounce_warn=_percent(env, "BOUNCE_WARN_RATE", 2.0),
        bounce_pause=_percent(env, "BOUNCE_PAUSE_RATE", 5.0),
    )
    if settings.complaint_warn > settings.complaint_pause or settings.bounce_warn > settings.bounce_pause:
        raise ConfigError(
            "a warning rate (COMPLAINT_WARN_RATE, BOUNCE_WARN_RATE) must not exceed its pause rate"
        )
    return settings
