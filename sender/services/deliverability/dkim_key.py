"""The DKIM key set on the Organisation page: kept in a 0600 file of the instance folder, never shown again.

Only its public half leaves this module, as the TXT record to publish at <selector>._domainkey.<domain>.
DKIM_PRIVATE_KEY_FILE (a file deployed by the operator) wins over it; with several hosts, use that, since
each host has its own instance folder.
"""

from __future__ import annotations

import base64
import os
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy.orm import Session

from sender.config import Settings
from sender.config_guard import dkim_selector, domain_name
from sender.i18n import N_
from sender.models import OrganisationSettings
from sender.services.errors import ValidationFailed
from sender.services.records import audit

KEY_FILE = "dkim_private_key.pem"
# Gmail and Microsoft want at least 1024 bits; 2048 is what they recommend and what we generate.
MIN_BITS, GENERATED_BITS = 1024, 2048


def stored_path(settings: Settings) -> Path:
    """Where the page's key lives (it may not exist)."""
    return settings.instance_path / KEY_FILE


def key_file(settings: Settings) -> Path | None:
    """The key in force: DKIM_PRIVATE_KEY_FILE, else the page's, else None."""
    if settings.guard.dkim_key_file is not None:
        return settings.guard.dkim_key_file
    path = stored_path(settings)
    return path if path.is_file() else None


def public_record(pem: bytes) -> str:
    """The TXT record value publishing the public half of a PEM private key: v=DKIM1; k=rsa; p=…"""
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("not an RSA key")
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode('ascii')}"


def current_record(settings: Settings) -> str | None:
    """The record to publish for the key in force, or None without a key."""
    path = key_file(settings)
    if path is None:
        return None
    try:
        return public_record(path.read_bytes())
    except (OSError, ValueError):
        return None


def _checked_pem(raw: str) -> bytes:
    """The pasted key as PEM (PKCS#8, unencrypted), or ValidationFailed at `private_key`."""
    try:
        key = serialization.load_pem_private_key(raw.strip().encode("ascii"), password=None)
    except (ValueError, TypeError, UnicodeError):
        raise ValidationFailed(
            {"private_key": N_("is not an unencrypted PEM private key (-----BEGIN PRIVATE KEY-----)")}
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < MIN_BITS:
        raise ValidationFailed({"private_key": N_("must be an RSA key of at least 1024 bits")})
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def generated_pem() -> bytes:
    """A new 2048-bit RSA key as PKCS#8 PEM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=GENERATED_BITS)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _write(path: Path, pem: bytes) -> None:
    """Replace the key file atomically, readable by its owner only (0600) from its first byte."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".dkim-", suffix=".part")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def save(
    session: Session,
    settings: Settings,
    row: OrganisationSettings,
    values: dict[str, str],
    actor: str,
) -> None:
    """Store selector and domain, and the key (pasted, or generated when `generate` is set); the caller commits.

    An empty key field keeps the key already set. The key is written to its file only once every field is
    valid; the audit trail records that it changed, never the key.
    """
    errors: dict[str, str] = {}
    selector = domain = ""
    try:
        selector = dkim_selector(values.get("selector", "")) if values.get("selector", "").strip() else ""
    except ValueError:
        errors["selector"] = N_("must be one or more DNS labels, such as s2027")
    try:
        domain = domain_name(values.get("domain", "")) if values.get("domain", "").strip() else ""
    except ValueError:
        errors["domain"] = N_("must be a domain name such as example.org")
    pem: bytes | None = None
    if values.get("generate"):
        pem = generated_pem()
    elif values.get("private_key", "").strip():
        try:
            pem = _checked_pem(values["private_key"])
        except ValidationFailed as exc:
            errors.update(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    row.dkim_selector, row.dkim_domain = selector, domain
    session.flush()
    if pem is not None:
        _write(stored_path(settings), pem)
    audit.record(
        session, actor, "organisation.dkim", "organisation", row.id, {"key_replaced": pem is not None}
    )
