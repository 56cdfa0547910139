"""Deliverability settings: the bounce domain (VERP), the soft-bounce limit, the bounce mailbox (no Flask here)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from sender.config import ConfigError

# A domain name in ASCII (IDNA): dot-separated labels of letters, digits and inner hyphens.
_DOMAIN = re.compile(r"(?=.{1,253}$)(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))+")
IMAP_SCHEMES = ("imap", "imaps")


@dataclass(frozen=True)
class DeliverabilitySettings:
    """Where bounces go and how they are read; every field off by default."""

    # Envelope senders become bounces+<token>@BOUNCE_DOMAIN (VERP); empty: EMAIL_FROM's address, no VERP.
    bounce_domain: str = ""
    # Temporary failures in a row (within 15 days, no success between) after which an address is suppressed.
    soft_bounce_limit: int = 3
    # imap[s]://user:password@host[:port][/FOLDER]; the mailbox `sender bounces fetch` reads.
    imap_url: str | None = None
    # Where a processed message is moved; empty: it is deleted.
    imap_processed_folder: str = "Processed"


@dataclass(frozen=True)
class ImapMailbox:
    """The parts of BOUNCE_IMAP_URL; `password` is never logged or shown."""

    host: str
    port: int
    tls: bool
    user: str
    password: str
    folder: str


def imap_mailbox(url: str) -> ImapMailbox:
    """Split BOUNCE_IMAP_URL into its parts (already checked at start-up)."""
    parts = urlsplit(url)
    tls = parts.scheme == "imaps"
    folder = unquote(parts.path.lstrip("/")) or "INBOX"
    return ImapMailbox(
        host=parts.hostname or "",
        port=parts.port or (993 if tls else 143),
        tls=tls,
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        folder=folder,
    )


def _bounce_domain(env: Mapping[str, str]) -> str:
    raw = (env.get("BOUNCE_DOMAIN") or "").strip().lower().rstrip(".")
    if not raw:
        return ""
    try:
        domain = raw.encode("idna").decode("ascii")
    except UnicodeError:
        raise ConfigError(f"BOUNCE_DOMAIN must be a domain name, got {raw!r}") from None
    if not _DOMAIN.fullmatch(domain):
        raise ConfigError(f"BOUNCE_DOMAIN must be a domain name such as bounces.example.org, got {raw!r}")
    return domain


def _imap_url(env: Mapping[str, str]) -> str | None:
    """BOUNCE_IMAP_URL checked now; messages never repeat it, since it holds a password."""
    raw = env.get("BOUNCE_IMAP_URL") or None
    if raw is None:
        return None
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        raise ConfigError("BOUNCE_IMAP_URL must be imap[s]://user:password@host[:port][/FOLDER]") from None
    if parts.scheme not in IMAP_SCHEMES or not parts.hostname:
        raise ConfigError("BOUNCE_IMAP_URL must be imap[s]://user:password@host[:port][/FOLDER]")
    if not parts.username or parts.password is None:
        raise ConfigError("BOUNCE_IMAP_URL must name a user and a password (percent-encode @ : /)")
    if port == 0:
        raise ConfigError("BOUNCE_IMAP_URL port must be a number from 1 to 65535")
    return raw


def load_deliverability_settings(env: Mapping[str, str]) -> DeliverabilitySettings:
    """The deliverability settings from the environment; ConfigError names any bad variable."""
    raw_limit = env.get("SOFT_BOUNCE_LIMIT") or "3"
    try:
        limit = int(raw_limit)
    except ValueError:
        raise ConfigError(f"SOFT_BOUNCE_LIMIT must be an integer, got {raw_limit!r}") from None
    if limit < 1:
        raise ConfigError(f"SOFT_BOUNCE_LIMIT must be at least 1, got {limit}")
    return DeliverabilitySettings(
        bounce_domain=_bounce_domain(env),
        soft_bounce_limit=limit,
        imap_url=_imap_url(env),
        imap_processed_folder=(env.get("BOUNCE_IMAP_PROCESSED", "Processed")).strip(),
    )
