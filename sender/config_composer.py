"""Composer settings (images, test sends, pre-send checks), read from the environment with config.py."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from sender.config import ConfigError, env_int


@dataclass(frozen=True)
class S3Location:
    """Where images go in an S3-compatible store: a bucket, a key prefix, and the endpoint of a non-AWS one."""

    bucket: str
    prefix: str = ""
    endpoint: str | None = None
    region: str | None = None


@dataclass(frozen=True)
class ComposerSettings:
    """Image limits and store, how many addresses one test send may name, and the bounds of the link check."""

    media_max_bytes: int = 5 * 1024 * 1024
    media_max_width: int = 1200
    test_send_max_addresses: int = 5
    link_check_max_links: int = 20
    link_check_timeout: float = 5.0
    link_check_concurrency: int = 4
    # None: images are files under the instance folder.
    media_store: S3Location | None = None


def media_location(env: Mapping[str, str]) -> S3Location | None:
    """MEDIA_URL as an S3 location (`s3://bucket/prefix?endpoint=…&region=…`), or None when unset (local files).

    ConfigError names MEDIA_URL for another scheme, a missing bucket, an unknown option or a bad endpoint.
    """
    raw = (env.get("MEDIA_URL") or "").strip()
    if not raw:
        return None
    parts = urlsplit(raw)
    # The bucket only: credentials come from the SDK's usual sources (AWS_ACCESS_KEY_ID…), never the URL.
    if parts.scheme != "s3" or not parts.netloc or "@" in parts.netloc or ":" in parts.netloc:
        raise ConfigError("MEDIA_URL must be s3://<bucket>/<prefix>[?endpoint=<url>&region=<name>]")
    options = parse_qs(parts.query, keep_blank_values=False)
    unknown = sorted(set(options) - {"endpoint", "region"})
    if unknown:
        raise ConfigError(f"MEDIA_URL has unknown options {unknown}; only endpoint and region are read")
    endpoint = options.get("endpoint", [None])[-1]
    if endpoint is not None and urlsplit(endpoint).scheme not in ("http", "https"):
        raise ConfigError("MEDIA_URL's endpoint must be an http or https URL")
    prefix = parts.path.strip("/")
    return S3Location(
        bucket=parts.netloc,
        prefix=f"{prefix}/" if prefix else "",
        endpoint=endpoint,
        region=options.get("region", [None])[-1],
    )


def load_composer_settings(env: Mapping[str, str]) -> ComposerSettings:
    """The composer's settings from the environment; ConfigError names a bad one."""
    return ComposerSettings(
        media_max_bytes=env_int(env, "MEDIA_MAX_BYTES", 5 * 1024 * 1024, minimum=1024),
        media_max_width=env_int(env, "MEDIA_MAX_WIDTH", 1200, minimum=16),
        test_send_max_addresses=env_int(env, "TEST_SEND_MAX_ADDRESSES", 5),
        link_check_max_links=env_int(env, "LINK_CHECK_MAX_LINKS", 20, minimum=0),
        link_check_timeout=float(env_int(env, "LINK_CHECK_TIMEOUT", 5)),
        link_check_concurrency=env_int(env, "LINK_CHECK_CONCURRENCY", 4),
        media_store=media_location(env),
    )
