"""Provider webhook secrets and limits (issue 18), read from the environment with config.py (no Flask here).

Every secret is empty by default, and a provider whose secret is empty refuses every request (403). None
of these values is ever logged or shown back.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from sender.config import ConfigError, env_int

# Reports older (or further in the future) than this are refused: SNS keeps a notification's original
# Timestamp through its retries, so the window covers SNS's longest retry policy (an hour).
DEFAULT_TOLERANCE = 3600
_LOOPBACK_NAMES = ("localhost",)


@dataclass(frozen=True)
class WebhookSettings:
    """What authenticates each provider's webhook, and how old a signed report may be."""

    tolerance_seconds: int = DEFAULT_TOLERANCE
    # SES through SNS: the topics whose notifications are accepted (anyone can sign with an SNS topic).
    ses_topic_arns: tuple[str, ...] = ()
    # Tests only: one loopback origin (scheme://host:port) trusted besides the SNS hosts; empty in production.
    sns_test_origin: str = ""
    sendgrid_public_key: bytes = field(default=b"", repr=False)
    mailgun_signing_key: str = field(default="", repr=False)
    # "user:password", as written in Postmark's webhook URL.
    postmark_credentials: str = field(default="", repr=False)
    # The Bearer token set on Brevo's webhook (auth type "bearer").
    brevo_token: str = field(default="", repr=False)


def _topic_arns(env: Mapping[str, str]) -> tuple[str, ...]:
    arns = tuple(a.strip() for a in (env.get("SES_SNS_TOPIC_ARNS") or "").split(",") if a.strip())
    for arn in arns:
        if not arn.startswith("arn:") or arn.count(":") != 5:
            raise ConfigError(
                f"SES_SNS_TOPIC_ARNS: {arn!r} is not a topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)"
            )
    return arns


def _test_origin(env: Mapping[str, str]) -> str:
    """SNS_TEST_ORIGIN, which may only name this machine: it can never widen trust to another host."""
    raw = (env.get("SNS_TEST_ORIGIN") or "").strip().rstrip("/")
    if not raw:
        return ""
    parts = urlsplit(raw)
    host = parts.hostname or ""
    try:
        loopback = host in _LOOPBACK_NAMES or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if parts.scheme not in ("http", "https") or not loopback or parts.path:
        raise ConfigError(
            "SNS_TEST_ORIGIN must be a loopback origin such as http://127.0.0.1:8080 (tests only)"
        )
    return raw


def _sendgrid_key(env: Mapping[str, str]) -> bytes:
    """The verification key as SendGrid shows it (base64 of the DER public key), or a PEM."""
    raw = (env.get("SENDGRID_WEBHOOK_PUBLIC_KEY") or "").strip()
    if not raw:
        return b""
    if raw.startswith("-----BEGIN"):
        return raw.encode()
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(
            "SENDGRID_WEBHOOK_PUBLIC_KEY must be the base64 key SendGrid shows, or a PEM"
        ) from None


def _credentials(env: Mapping[str, str]) -> str:
    raw = env.get("POSTMARK_WEBHOOK_CREDENTIALS") or ""
    if raw and (":" not in raw or not raw.split(":", 1)[0] or len(raw.split(":", 1)[1]) < 16):
        raise ConfigError(
            "POSTMARK_WEBHOOK_CREDENTIALS must be user:password, the password at least 16 characters"
        )
    return raw


def _secret(env: Mapping[str, str], name: str) -> str:
    raw = env.get(name) or ""
    if raw and len(raw) < 16:
        raise ConfigError(f"{name} must be at least 16 characters")
    return raw


def load_webhook_settings(env: Mapping[str, str]) -> WebhookSettings:
    """The webhook settings from the environment; ConfigError names any bad variable (never its value)."""
    return WebhookSettings(
        tolerance_seconds=env_int(env, "WEBHOOK_TOLERANCE", DEFAULT_TOLERANCE, minimum=60),
        ses_topic_arns=_topic_arns(env),
        sns_test_origin=_test_origin(env),
        sendgrid_public_key=_sendgrid_key(env),
        mailgun_signing_key=_secret(env, "MAILGUN_WEBHOOK_SIGNING_KEY"),
        postmark_credentials=_credentials(env),
        brevo_token=_secret(env, "BREVO_WEBHOOK_TOKEN"),
    )
