"""What an import batch declares about its rows (R58): validated, and consent claimed only with its proof."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.enums import Channel
from sender.i18n import N_
from sender.models import ConsentWording, ContactList, Purpose
from sender.models.consent import LEGAL_BASES
from sender.models.contacts import CHANNELS
from sender.services.accounts import organisation
from sender.services.consent.ledger import GRANT_MECHANISMS, NON_AFFIRMATIVE
from sender.services.errors import ValidationFailed

# "unknown": the file's origin cannot be vouched for; its rows become legacy contacts.
IMPORT_LEGAL_BASES = (*LEGAL_BASES, "unknown")


def _text(data: Mapping[str, Any], name: str, limit: int, errors: dict[str, str]) -> str | None:
    value = data.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value.strip()) > limit:
        errors[name] = N_("must be a string of at most %(n)d characters", n=limit)
        return None
    return value.strip() or None


def _collected_on(raw: Any, today: date, errors: dict[str, str]) -> date | None:
    if raw is None or raw == "":
        return None
    try:
        value = raw if isinstance(raw, date) else date.fromisoformat(str(raw))
    except ValueError:
        errors["collected_on"] = N_("must be a date written YYYY-MM-DD")
        return None
    if value > today:
        errors["collected_on"] = N_("is in the future")
    return value


def _channels(raw: Any, errors: dict[str, str]) -> list[str]:
    if raw is None or raw == "" or raw == []:
        return [Channel.EMAIL]
    values = raw.split(",") if isinstance(raw, str) else raw
    if not isinstance(values, list) or not values or any(v not in CHANNELS for v in values):
        errors["channels"] = N_("must name channels among %(choices)s", choices=", ".join(CHANNELS))
        return []
    return list(dict.fromkeys(values))


def _flag(raw: Any, name: str, errors: dict[str, str]) -> bool:
    if isinstance(raw, bool) or raw is None:
        return bool(raw)
    if str(raw).lower() in ("true", "1", "yes", "on"):
        return True
    if str(raw).lower() in ("false", "0", "no", "off", ""):
        return False
    errors[name] = N_("must be true or false")
    return False


def validate(session: Session, data: Mapping[str, Any]) -> dict[str, Any]:
    """Validate what a batch declares about its rows; consent is claimed only with its full proof."""
    errors: dict[str, str] = {}
    source = _text(data, "source", 255, errors)
    if source is None and "source" not in errors:
        errors["source"] = N_("is required: where and how the addresses were collected")
    basis = data.get("legal_basis")
    if basis not in IMPORT_LEGAL_BASES:
        errors["legal_basis"] = N_("is required, one of %(choices)s", choices=", ".join(IMPORT_LEGAL_BASES))
    partner = _text(data, "partner", 200, errors)
    named = _flag(data.get("partner_named_sender"), "partner_named_sender", errors)
    collected_on = _collected_on(data.get("collected_on"), organisation.today(session), errors)
    channels = _channels(data.get("channels"), errors)
    purpose = None
    slug = _text(data, "purpose", 64, errors)
    if slug is not None:
        purpose = session.scalar(select(Purpose).where(Purpose.slug == slug))
        if purpose is None:
            errors["purpose"] = N_("no purpose %(slug)r", slug=slug)
    version: int | None = None
    raw_version = data.get("wording_version")
    if raw_version not in (None, ""):
        if str(raw_version).isdigit() and int(str(raw_version)) >= 1:
            version = int(str(raw_version))
        else:
            errors["wording_version"] = N_("must be a whole number from 1")
    list_id = _list_id(session, data.get("list"), errors)
    mechanism = _text(data, "mechanism", 32, errors) or ("checkbox" if basis == "consent" else None)
    if basis == "consent":
        _check_consent_proof(session, data, purpose, version, collected_on, mechanism, partner, named, errors)
    if errors:
        raise ValidationFailed(errors)
    return {
        "source": source,
        "legal_basis": basis,
        "partner_name": partner,
        "partner_named_sender": named,
        "collected_on": collected_on,
        "channels": channels,
        "purpose_id": purpose.id if purpose else None,
        "wording_version": version,
        "mechanism": mechanism,
        "list_id": list_id,
    }


def _list_id(session: Session, raw: Any, errors: dict[str, str]) -> int | None:
    """The list the imported contacts join, if one is named."""
    if raw in (None, ""):
        return None
    if not str(raw).isdigit() or session.get(ContactList, int(str(raw))) is None:
        errors["list"] = N_("no such list")
        return None
    return int(str(raw))


def _check_consent_proof(
    session: Session,
    data: Mapping[str, Any],
    purpose: Purpose | None,
    version: int | None,
    collected_on: date | None,
    mechanism: str | None,
    partner: str | None,
    named: bool,
    errors: dict[str, str],
) -> None:
    """Consent is proven only by purpose, wording version, collection date and an affirmative mechanism."""
    missing = N_("is required to claim consent (legal_basis consent); without it, use legal_basis unknown")
    for name, value in (("purpose", data.get("purpose")), ("wording_version", version)):
        if value in (None, "") and name not in errors:
            errors[name] = missing
    if collected_on is None and "collected_on" not in errors:
        errors["collected_on"] = missing
    if mechanism in NON_AFFIRMATIVE or mechanism not in GRANT_MECHANISMS:
        errors["mechanism"] = N_(
            "must be an affirmative act, one of %(choices)s", choices=", ".join(sorted(GRANT_MECHANISMS))
        )
    wording = select(ConsentWording.id).where(
        ConsentWording.purpose_id == (purpose.id if purpose else None), ConsentWording.version == version
    )
    if purpose is not None and version is not None and session.scalar(wording) is None:
        errors["wording_version"] = N_(
            "purpose %(slug)r has no wording version %(version)s", slug=purpose.slug, version=version
        )
    if partner and not named:
        # R60, CNIL Canal+: "partner" consent counts only if the wording named this sender.
        errors["partner_named_sender"] = N_(
            "partner-sourced consent counts only if the partner's wording named us"
        )
