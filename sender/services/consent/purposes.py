"""Purposes (entries of the Art. 30 register) and their immutable, versioned consent wordings."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sender.enums import PurposeKind
from sender.i18n import N_
from sender.models import ConsentWording, Purpose
from sender.models.consent import LEGAL_BASES
from sender.services.errors import Conflict, NotFound, ValidationFailed
from sender.services.records import audit

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
FIELDS = (
    "slug",
    "name",
    "description",
    "legal_basis",
    "retention_days",
    "consent_validity_days",
    "requires_double_opt_in",
    "data_categories",
    "processors",
    "transfers",
    "kind",
)
LIST_FIELDS = ("data_categories", "processors", "transfers")
MAX_ITEM = 200
MAX_NAME = 200
MAX_NOTICE_VERSION = 64
MAX_DAYS = 36500


def _text(data: Mapping[str, Any], name: str, limit: int | None, errors: dict[str, str]) -> None:
    value = data.get(name)
    if not isinstance(value, str) or not value.strip():
        errors[name] = N_("is required and must be a non-empty string")
    elif limit is not None and len(value) > limit:
        errors[name] = N_("must be at most %(n)d characters", n=limit)


def _days(data: Mapping[str, Any], name: str, nullable: bool, errors: dict[str, str]) -> None:
    if name not in data or (nullable and data[name] is None):
        return
    value = data[name]
    # bool is an int in Python; `true` is not a number of days.
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_DAYS:
        errors[name] = (
            N_("must be a whole number of days between 1 and %(max)d or null", max=MAX_DAYS)
            if nullable
            else N_("must be a whole number of days between 1 and %(max)d", max=MAX_DAYS)
        )


def _validate(data: Mapping[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {name: "unknown field" for name in sorted(set(data) - set(FIELDS))}
    slug = data.get("slug")
    if not isinstance(slug, str) or not SLUG.match(slug):
        errors["slug"] = N_(
            "must be 1-64 lowercase letters, digits or hyphens, not starting or ending with '-'"
        )
    _text(data, "name", MAX_NAME, errors)
    # The description is what people are shown when asked to consent: it cannot be empty.
    _text(data, "description", None, errors)
    if data.get("legal_basis", "consent") not in LEGAL_BASES:
        errors["legal_basis"] = N_("must be one of %(choices)s", choices=", ".join(LEGAL_BASES))
    _days(data, "retention_days", False, errors)
    _days(data, "consent_validity_days", True, errors)
    if (data.get("kind") or PurposeKind.MARKETING) not in tuple(PurposeKind):
        errors["kind"] = N_("must be one of %(choices)s", choices=", ".join(PurposeKind))
    elif data.get("kind") == PurposeKind.TRACKING and data.get("legal_basis", "consent") != "consent":
        # Measuring a person in their messages rests on their consent alone (R54).
        errors["legal_basis"] = N_("a tracking purpose rests on consent")
    if not isinstance(data.get("requires_double_opt_in", False), bool):
        errors["requires_double_opt_in"] = N_("must be true or false")
    for name in LIST_FIELDS:
        value = data.get(name, [])
        if not isinstance(value, list) or not all(
            isinstance(item, str) and item.strip() and len(item) <= MAX_ITEM for item in value
        ):
            errors[name] = N_("must be a list of non-empty strings of at most %(n)d characters", n=MAX_ITEM)
    return errors


def create(session: Session, data: Mapping[str, Any], actor: str) -> Purpose:
    """Add a purpose to the register; a taken slug is a Conflict."""
    errors = _validate(data)
    if errors:
        raise ValidationFailed(errors)
    if session.scalar(select(Purpose.id).where(Purpose.slug == data["slug"])) is not None:
        raise Conflict(N_("a purpose with slug %(slug)r already exists", slug=data["slug"]))
    purpose = Purpose(
        slug=data["slug"],
        name=data["name"].strip(),
        description=data["description"].strip(),
        legal_basis=data.get("legal_basis", "consent"),
        kind=data.get("kind") or PurposeKind.MARKETING,
        retention_days=data.get("retention_days", 1095),
        consent_validity_days=data.get("consent_validity_days", 1095),
        requires_double_opt_in=data.get("requires_double_opt_in", False),
        data_categories=[s.strip() for s in data.get("data_categories", [])],
        processors=[s.strip() for s in data.get("processors", [])],
        transfers=[s.strip() for s in data.get("transfers", [])],
    )
    try:
        # A concurrent insert of the same slug loses here rather than failing the whole transaction.
        with session.begin_nested():
            session.add(purpose)
    except IntegrityError:
        raise Conflict(N_("a purpose with slug %(slug)r already exists", slug=data["slug"])) from None
    audit.record(session, actor, "purpose.create", "purpose", purpose.slug)
    return purpose


def all_purposes(session: Session) -> list[Purpose]:
    """Every purpose of the register, in creation order."""
    return list(session.scalars(select(Purpose).order_by(Purpose.id)))


def get(session: Session, slug: str, *, for_update: bool = False) -> Purpose:
    """The purpose with this slug, or NotFound."""
    stmt = select(Purpose).where(Purpose.slug == slug)
    if for_update:
        stmt = stmt.with_for_update()
    purpose = session.scalar(stmt)
    if purpose is None:
        raise NotFound(N_("no purpose %(slug)r", slug=slug))
    return purpose


def resolve(session: Session, slug: Any, field: str = "purpose") -> Purpose:
    """The purpose a request field names; unknown or missing is a ValidationFailed on that field."""
    if not isinstance(slug, str) or not slug:
        raise ValidationFailed({field: N_("is required: the slug of a purpose")})
    try:
        return get(session, slug)
    except NotFound:
        raise ValidationFailed({field: N_("unknown purpose %(slug)r", slug=slug)}) from None


def by_ids(session: Session, ids: Iterable[int]) -> dict[int, Purpose]:
    """Purposes keyed by id, in one query."""
    wanted = set(ids)
    if not wanted:
        return {}
    return {p.id: p for p in session.scalars(select(Purpose).where(Purpose.id.in_(wanted)))}


def add_wording(
    session: Session, slug: str, data: Mapping[str, Any], actor: str
) -> tuple[Purpose, ConsentWording]:
    """Append the next wording version of a purpose; earlier versions are never changed."""
    errors: dict[str, str] = {
        name: "unknown field" for name in sorted(set(data) - {"text", "privacy_notice_version"})
    }
    _text(data, "text", None, errors)
    notice = data.get("privacy_notice_version")
    if notice is not None and (not isinstance(notice, str) or not notice or len(notice) > MAX_NOTICE_VERSION):
        errors["privacy_notice_version"] = N_(
            "must be a non-empty string of at most %(n)d characters",
            n=MAX_NOTICE_VERSION,
        )
    # Lock the purpose row so two writers cannot both compute the same next version (PostgreSQL).
    purpose = get(session, slug, for_update=True)
    if errors:
        raise ValidationFailed(errors)
    latest = session.scalar(
        select(func.max(ConsentWording.version)).where(ConsentWording.purpose_id == purpose.id)
    )
    wording = ConsentWording(
        purpose_id=purpose.id,
        version=(latest or 0) + 1,
        text=data["text"],
        privacy_notice_version=notice,
    )
    session.add(wording)
    session.flush()
    audit.record(session, actor, "purpose.wording_add", "purpose", purpose.slug, {"version": wording.version})
    return purpose, wording


def wordings(session: Session, purpose: Purpose) -> list[ConsentWording]:
    """Every wording version of a purpose, oldest first."""
    return list(
        session.scalars(
            select(ConsentWording)
            .where(ConsentWording.purpose_id == purpose.id)
            .order_by(ConsentWording.version)
        )
    )


def wordings_by_ids(session: Session, ids: Iterable[int | None]) -> dict[int, ConsentWording]:
    """Wordings keyed by id, in one query (None ids are skipped)."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {w.id: w for w in session.scalars(select(ConsentWording).where(ConsentWording.id.in_(wanted)))}
