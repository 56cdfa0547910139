"""SMS and Twilio settings, read from the environment with the rest of config.py (no Flask import here)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from urllib.parse import urlsplit

from sender.addresses import is_possible_phone
from sender.config import ConfigError, Rate, parse_rates

TWILIO_API = "https://api.twilio.com"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Twilio's own single-word opt-out keywords, plus the French ones added through Advanced Opt-Out (R62).
OPT_OUT_KEYWORDS = (
    "STOP",
    "STOPALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "REVOKE",
    "OPTOUT",
    "ARRET",
    "ARRÊT",
    "DESABONNER",
)
NEAR_MISS_ACTIONS = ("withdraw", "review")
# Messages per second of the sender (R67); set it to what Twilio grants yours (a long code: 1/s).
DEFAULT_MAX_RATE = "10/s"
# af2m charter 2026 for France (R14): Monday to Saturday, 08:00-21:30 local time; applied elsewhere too
# until an administrator sets a country's own rule.
DEFAULT_QUIET_HOURS = "FR=mon-sat 08:00-21:30; *=mon-sat 08:00-21:30"
_SID = re.compile(r"^(?P<prefix>AC|MG)[0-9a-f]{32}$")
_RULE = re.compile(
    r"^(?P<days>[a-z]{3}(?:-[a-z]{3})?(?:,[a-z]{3}(?:-[a-z]{3})?)*)\s+(?P<start>\d\d:\d\d)-(?P<end>\d\d:\d\d)$"
)


@dataclass(frozen=True)
class QuietRule:
    """When marketing SMS may arrive in a country: weekdays (0 = Monday) and a local-time window."""

    days: frozenset[int]
    start: time
    end: time


@dataclass(frozen=True)
class SmsSettings:
    """Twilio account, sender, mandatory mentions, pace, quiet hours and keyword handling."""

    account_sid: str = ""
    auth_token: str = ""
    messaging_service_sid: str = ""
    from_number: str = ""
    api_base_url: str = TWILIO_API
    sender_name: str = ""
    stop_text: str = ""
    portal_link: bool = False
    max_rate: tuple[Rate, ...] = (Rate(10, 1),)
    concurrency: int = 32
    quiet_hours: Mapping[str, QuietRule] = field(
        default_factory=lambda: parse_quiet_hours(DEFAULT_QUIET_HOURS)
    )
    allow_holidays: bool = False
    opt_out_keywords: tuple[str, ...] = OPT_OUT_KEYWORDS
    near_miss_action: str = "withdraw"

    @property
    def configured(self) -> bool:
        """Whether a Twilio account and a sender are set (SMS campaigns can be launched)."""
        return bool(self.account_sid and self.auth_token and (self.messaging_service_sid or self.from_number))


def _time(raw: str, name: str) -> time:
    try:
        return time.fromisoformat(raw)
    except ValueError:
        raise ConfigError(f"{name}: {raw!r} is not a time HH:MM") from None


def _days(spec: str, name: str) -> frozenset[int]:
    days: set[int] = set()
    for part in spec.split(","):
        first, _, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise ConfigError(f"{name}: unknown day in {part!r}; use {', '.join(DAYS)}")
        start, stop = DAYS.index(first), DAYS.index(last or first)
        if stop < start:
            raise ConfigError(f"{name}: day range {part!r} runs backwards")
        days.update(range(start, stop + 1))
    return frozenset(days)


def parse_quiet_hours(raw: str, name: str = "SMS_QUIET_HOURS") -> dict[str, QuietRule]:
    """Parse `FR=mon-sat 08:00-21:30; DE=mon-fri 09:00-20:00; *=…` (country `*` is everyone else)."""
    rules: dict[str, QuietRule] = {}
    for entry in filter(None, (part.strip() for part in raw.split(";"))):
        country, _, spec = entry.partition("=")
        country = country.strip().upper()
        match = _RULE.match(" ".join(spec.lower().split()))
        if not match or not (country == "*" or (len(country) == 2 and country.isalpha())):
            raise ConfigError(
                f"{name}: {entry!r} is not COUNTRY=days HH:MM-HH:MM (e.g. FR=mon-sat 08:00-21:30)"
            )
        start, end = _time(match["start"], name), _time(match["end"], name)
        if end <= start:
            raise ConfigError(f"{name}: the window of {country} must end after it starts")
        rules[country] = QuietRule(_days(match["days"], name), start, end)
    if "*" not in rules:
        raise ConfigError(f"{name}: add a default rule for every other country, e.g. *=mon-sat 08:00-21:30")
    return rules


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _sender(env: Mapping[str, str]) -> tuple[str, str]:
    service = (env.get("TWILIO_MESSAGING_SERVICE_SID") or "").strip()
    number = (env.get("TWILIO_FROM") or "").strip()
    if service and not (_SID.match(service) and service.startswith("MG")):
        raise ConfigError("TWILIO_MESSAGING_SERVICE_SID must be MG followed by 32 hexadecimal digits")
    if number.startswith("+"):
        if not is_possible_phone(number):
            raise ConfigError(
                f"TWILIO_FROM must be an E.164 number, a short code or a sender ID, got {number!r}"
            )
        # ARCEP decision 18-0881: no marketing SMS from French mobile numbers since 1 August 2019 (R22).
        if number.startswith(("+336", "+337")):
            raise ConfigError(
                "TWILIO_FROM: French marketing SMS may not come from a +336/+337 mobile number "
                "(ARCEP 18-0881); use a 36xxx short code or a Messaging Service"
            )
    elif number and not (number.isdigit() or re.fullmatch(r"[A-Za-z0-9 ]{1,11}", number)):
        raise ConfigError("TWILIO_FROM must be an E.164 number, a short code or an alphanumeric sender ID")
    return service, number


def load_sms_settings(env: Mapping[str, str]) -> SmsSettings:
    """Read and check the SMS settings; Twilio's account, token and a sender go together or not at all."""
    account = (env.get("TWILIO_ACCOUNT_SID") or "").strip()
    token = (env.get("TWILIO_AUTH_TOKEN") or "").strip()
    if account and not (_SID.match(account) and account.startswith("AC")):
        raise ConfigError("TWILIO_ACCOUNT_SID must be AC followed by 32 hexadecimal digits")
    service, number = _sender(env)
    if (service or number) and not (account and token):
        raise ConfigError("TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are required with a Twilio sender")
    if account and not token:
        raise ConfigError("TWILIO_AUTH_TOKEN is required with TWILIO_ACCOUNT_SID")
    base = (env.get("TWILIO_API_BASE_URL") or TWILIO_API).rstrip("/")
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path:
        raise ConfigError(f"TWILIO_API_BASE_URL must be an http(s) URL without a path, got {base!r}")
    rates = parse_rates("SMS_MAX_RATE", env.get("SMS_MAX_RATE") or DEFAULT_MAX_RATE)
    concurrency_raw = env.get("SMS_CONCURRENCY") or "32"
    if not concurrency_raw.isdigit() or not 1 <= int(concurrency_raw) <= 64:
        raise ConfigError("SMS_CONCURRENCY must be an integer from 1 to 64")
    keywords_raw = env.get("SMS_OPT_OUT_KEYWORDS")
    keywords = (
        tuple(k.strip().upper() for k in keywords_raw.split(",") if k.strip())
        if keywords_raw
        else OPT_OUT_KEYWORDS
    )
    if not keywords:
        raise ConfigError("SMS_OPT_OUT_KEYWORDS must list at least one keyword")
    near_miss = (env.get("SMS_NEAR_MISS_ACTION") or "withdraw").strip().lower()
    if near_miss not in NEAR_MISS_ACTIONS:
        raise ConfigError(f"SMS_NEAR_MISS_ACTION must be one of {', '.join(NEAR_MISS_ACTIONS)}")
    return SmsSettings(
        account_sid=account,
        auth_token=token,
        messaging_service_sid=service,
        from_number=number,
        api_base_url=base,
        # Empty when unset: the organisation's effective legal name stands in (services/accounts/organisation).
        sender_name=(env.get("SMS_SENDER_NAME") or "").strip(),
        stop_text=(env.get("SMS_STOP_TEXT") or "").strip(),
        portal_link=_bool(env, "SMS_PORTAL_LINK", False),
        max_rate=rates,
        concurrency=int(concurrency_raw),
        quiet_hours=parse_quiet_hours(env.get("SMS_QUIET_HOURS") or DEFAULT_QUIET_HOURS),
        allow_holidays=_bool(env, "SMS_ALLOW_HOLIDAYS", False),
        opt_out_keywords=keywords,
        near_miss_action=near_miss,
    )
