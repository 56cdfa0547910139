"""The organisation's identity: stored from the settings page, overridden by environment variables.

Every message must identify the advertiser (R18: legal name, postal address) and give a way to reach
it. This module is the one resolver of those values: campaigns, system emails, public pages, the access
report and SMS all read `effective_settings`, each time they act, so a change needs no restart.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date
from email.utils import parseaddr
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from sender.addresses import AddressError, normalize_email
from sender.config import Settings
from sender.config_guard import GuardSettings
from sender.db import utcnow
from sender.i18n import N_, pick_locale
from sender.models import Media, OrganisationSettings
from sender.services.composer import media
from sender.services.deliverability import dkim_key
from sender.services.errors import ValidationFailed
from sender.services.records import audit

LOCALES = ("en", "fr")
ROW_ID = 1
# Environment variable that overrides each stored field (README: Configuration).
ENV_NAMES = {
    "legal_name": "ORG_NAME",
    "postal_address": "ORG_ADDRESS",
    "contact_email": "ORG_CONTACT_EMAIL",
    "dpo_contact": "DPO_CONTACT",
    "sender_address": "EMAIL_FROM",
}


@dataclass(frozen=True)
class Organisation:
    """Effective organisation settings, with the fields an environment variable has fixed."""

    legal_name: str
    postal_address: str
    contact_email: str
    dpo_contact: str
    sender_address: str
    default_locale: str
    timezone: str
    from_env: frozenset[str]

    @property
    def zone(self) -> ZoneInfo:
        """The organisation's time zone (schedules are shown in it)."""
        return ZoneInfo(self.timezone)


def stored(session: Session) -> OrganisationSettings:
    """The stored row (created empty on first use)."""
    row = session.get(OrganisationSettings, ROW_ID)
    if row is None:
        row = OrganisationSettings(id=ROW_ID)
        session.add(row)
        session.flush()
    return row


def effective(session: Session, settings: Settings) -> Organisation:
    """Stored values, each replaced by its environment variable when that one is set."""
    return _effective(session.get(OrganisationSettings, ROW_ID), settings)


def _effective(stored: OrganisationSettings | None, settings: Settings) -> Organisation:
    row = stored or OrganisationSettings(
        legal_name="",
        postal_address="",
        contact_email="",
        dpo_contact="",
        sender_address="",
        default_locale="en",
        timezone="Europe/Paris",
    )
    pairs = {
        "legal_name": (settings.org_name, row.legal_name),
        "postal_address": (settings.org_address, row.postal_address),
        "contact_email": (settings.org_contact_email, row.contact_email),
        "dpo_contact": (settings.dpo_contact, row.dpo_contact),
        # settings.email_from is EMAIL_FROM, or ORG_CONTACT_EMAIL when only that one is set.
        "sender_address": (settings.email_from, row.sender_address or row.contact_email),
    }
    values = {name: env or db for name, (env, db) in pairs.items()}
    from_env = frozenset(name for name, (env, _db) in pairs.items() if env)
    return Organisation(
        **values,
        default_locale=row.default_locale or "en",
        timezone=row.timezone or "Europe/Paris",
        from_env=from_env,
    )


def with_sending_address(session: Session, settings: Settings) -> Settings:
    """Settings whose EMAIL_FROM is the effective one, as effective_settings gives it.

    For the bounce doors, which need only the From domain: when EMAIL_FROM (or ORG_CONTACT_EMAIL) is set,
    nothing is read.
    """
    if settings.email_from:
        return settings
    return settings.with_overrides(email_from=effective(session, settings).sender_address)


def zone(session: Session) -> ZoneInfo:
    """The organisation's time zone as `effective` resolves it (no environment variable sets it)."""
    row = session.get(OrganisationSettings, ROW_ID)
    return ZoneInfo((row.timezone if row is not None else "") or "Europe/Paris")


def today(session: Session) -> date:
    """Today as the organisation's days are cut, in its zone: just after midnight in Paris, UTC still says
    yesterday. The one "today" of its dates (the honouring period's default, the "not in the future" checks)."""
    return utcnow().replace(tzinfo=UTC).astimezone(zone(session)).date()


def effective_settings(session: Session, settings: Settings) -> Settings:
    """Settings whose organisation fields are the effective ones: the only way any code reads them."""
    # Read once: a missing row is not remembered by the session, and each lookup would query again.
    row = session.get(OrganisationSettings, ROW_ID)
    org = _effective(row, settings)
    return settings.with_overrides(
        org_name=org.legal_name,
        org_address=org.postal_address,
        org_contact_email=org.contact_email,
        dpo_contact=org.dpo_contact,
        email_from=org.sender_address,
        default_locale=_recipient_locale(row, settings),
        # Every SMS names its sender (R18): SMS_SENDER_NAME, else the legal name, wherever it was set.
        sms=replace(settings.sms, sender_name=settings.sms.sender_name or org.legal_name),
        guard=_guard(row, settings),
        **_brand(session, settings, row),
    )


def _guard(row: OrganisationSettings | None, settings: Settings) -> GuardSettings:
    """DKIM selector, domain and key: each environment variable, else what the Organisation page stored."""
    guard = settings.guard
    return replace(
        guard,
        dkim_selector=guard.dkim_selector or (row.dkim_selector if row is not None else ""),
        dkim_domain=guard.dkim_domain or (row.dkim_domain if row is not None else ""),
        dkim_key_file=dkim_key.key_file(settings),
    )


def brand(session: Session, settings: Settings) -> dict[str, str]:
    """The brand templates show: the stored colour and the logo's URL (empty when none is set)."""
    return _brand(session, settings, session.get(OrganisationSettings, ROW_ID))


def _brand(session: Session, settings: Settings, row: OrganisationSettings | None) -> dict[str, str]:
    if row is None:
        return {"brand_color": "", "brand_logo_url": ""}
    logo = session.get(Media, row.logo_media_id) if row.logo_media_id else None
    return {
        "brand_color": row.brand_color or "",
        "brand_logo_url": media.url(settings, logo.public_key) if logo else "",
    }


def controller(session: Session, settings: Settings) -> dict[str, str]:
    """The controller's identity as every public page shows it (GDPR Art. 13)."""
    effective = effective_settings(session, settings)
    return {
        "name": effective.org_name,
        "address": effective.org_address,
        "contact_email": effective.org_contact_email,
        "dpo": effective.dpo_contact,
    }


def missing_for_email(settings: Settings) -> dict[str, str]:
    """What effective settings lack to send any email (a From address and a name), by settings field."""
    errors: dict[str, str] = {}
    if not settings.org_name.strip():
        errors["legal_name"] = N_("the organisation's legal name is not set (Organisation page or ORG_NAME)")
    if "@" not in parseaddr(settings.email_from)[1]:
        errors["sender_address"] = N_(
            "no sender address is set (Organisation page: sender or contact address, or EMAIL_FROM)"
        )
    return errors


def recipient_locale(session: Session, settings: Settings) -> str:
    """Language of recipients' pages and messages when neither contact nor campaign has one.

    The organisation page's choice once stored; until then DEFAULT_LOCALE (French by default), while the
    staff pages speak English.
    """
    return _recipient_locale(session.get(OrganisationSettings, ROW_ID), settings)


def _recipient_locale(row: OrganisationSettings | None, settings: Settings) -> str:
    return (row.default_locale if row is not None else None) or settings.default_locale


def language_for(session: Session, settings: Settings, *candidates: str | None) -> str:
    """The language a message or page speaks to a person: theirs, then the campaign's, then the organisation's."""
    return pick_locale(*candidates, default=recipient_locale(session, settings))


def _email(value: str, errors: dict[str, str], field: str, required: bool) -> str:
    value = value.strip()
    if not value:
        if required:
            errors[field] = N_("is required")
        return ""
    try:
        return normalize_email(parseaddr(value)[1] or value)
    except AddressError as exc:
        errors[field] = exc.message
        return value


def update(session: Session, values: dict[str, str], actor: str) -> OrganisationSettings:
    """Validate and store the settings page; the caller commits."""
    errors: dict[str, str] = {}
    legal_name = values.get("legal_name", "").strip()
    postal_address = values.get("postal_address", "").strip()
    if not legal_name:
        errors["legal_name"] = N_("is required")
    if not postal_address:
        errors["postal_address"] = N_("is required")
    contact_email = _email(values.get("contact_email", ""), errors, "contact_email", True)
    sender_address = _email(values.get("sender_address", ""), errors, "sender_address", False)
    locale = values.get("default_locale", "en")
    if locale not in LOCALES:
        errors["default_locale"] = N_("must be one of %(choices)s", choices=", ".join(LOCALES))
    zone = values.get("timezone", "").strip() or "Europe/Paris"
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        errors["timezone"] = N_("is not a known time zone (for example Europe/Paris)")
    if errors:
        raise ValidationFailed(errors)
    row = stored(session)
    row.legal_name, row.postal_address = legal_name, postal_address
    row.contact_email, row.sender_address = contact_email, sender_address
    row.dpo_contact = values.get("dpo_contact", "").strip()
    row.default_locale, row.timezone = locale, zone
    session.flush()
    audit.record(session, actor, "organisation.update", "organisation", ROW_ID, {})
    return row
