"""The DPIA gate (GDPR Art. 35; R75): a purpose marked as needing an impact assessment cannot start campaigns
until its DPIA record (reference, date, outcome, reviewer) is attached with an acceptable outcome."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from sender.enums import DpiaOutcome, DpiaReason
from sender.i18n import N_
from sender.models import Purpose, PurposeDpia
from sender.services.accounts import organisation
from sender.services.consent import purposes
from sender.services.errors import ValidationFailed
from sender.services.records import audit

MAX_TEXT = 200
# Outcomes under which the processing may go on (a high residual risk needs the authority first, Art. 36).
CLEARED = frozenset({DpiaOutcome.ACCEPTABLE, DpiaOutcome.ACCEPTABLE_WITH_MEASURES})


@dataclass(frozen=True)
class Assessment:
    """A DPIA record as the DPO attaches it."""

    reference: str
    assessed_on: date | None
    outcome: str
    reviewer: str


def of(session: Session, purpose: Purpose) -> PurposeDpia | None:
    """The purpose's DPIA row (requirement and record), if any."""
    return session.get(PurposeDpia, purpose.id)


def _row(session: Session, purpose: Purpose) -> PurposeDpia:
    row = of(session, purpose)
    if row is None:
        row = PurposeDpia(purpose_id=purpose.id, reasons=[])
        session.add(row)
    return row


def require(session: Session, slug: str, reasons: list[str], actor: str) -> PurposeDpia:
    """Say why the purpose needs a DPIA (empty: it no longer does); the caller commits."""
    unknown = [r for r in reasons if r not in set(DpiaReason)]
    if unknown:
        raise ValidationFailed({"reasons": N_("must be among %(choices)s", choices=", ".join(DpiaReason))})
    purpose = purposes.get(session, slug)
    row = _row(session, purpose)
    row.reasons = [r.value for r in DpiaReason if r in reasons]
    session.flush()
    audit.record(session, actor, "dpia.require", "purpose", purpose.id, {"reasons": row.reasons})
    return row


def attach(session: Session, slug: str, assessment: Assessment, actor: str) -> PurposeDpia:
    """Attach the DPIA record to the purpose; ValidationFailed names each wrong field. The caller commits."""
    errors: dict[str, str] = {}
    for name in ("reference", "reviewer"):
        value = getattr(assessment, name).strip()
        if not value or len(value) > MAX_TEXT:
            errors[name] = N_("must be 1 to %(n)d characters", n=MAX_TEXT)
    if assessment.outcome not in set(DpiaOutcome):
        errors["outcome"] = N_("must be one of %(choices)s", choices=", ".join(DpiaOutcome))
    if assessment.assessed_on is None:
        errors["assessed_on"] = N_("is required")
    elif assessment.assessed_on > organisation.today(session):
        errors["assessed_on"] = N_("must not be in the future")
    if errors:
        raise ValidationFailed(errors)
    purpose = purposes.get(session, slug)
    row = _row(session, purpose)
    row.reference, row.reviewer = assessment.reference.strip(), assessment.reviewer.strip()
    row.assessed_on, row.outcome = assessment.assessed_on, assessment.outcome
    session.flush()
    audit.record(session, actor, "dpia.attach", "purpose", purpose.id, {"outcome": row.outcome})
    return row


def blocking(row: PurposeDpia | None) -> str | None:
    """Why campaigns of the purpose cannot start, or None when nothing stops them."""
    if row is None or not row.reasons:
        return None
    why = ", ".join(r.replace("_", " ") for r in row.reasons)
    if not row.reference or row.outcome is None:
        return N_("a DPIA is required (%(why)s) and no DPIA record is attached to the purpose", why=why)
    if row.outcome not in CLEARED:
        return N_(
            "the DPIA %(reference)s found a high residual risk: the authority must be consulted first",
            reference=row.reference,
        )
    return None


def check_purpose(session: Session, purpose_id: int) -> dict[str, str]:
    """The DPIA gate of a campaign's purpose (field: reason); empty when it may start."""
    reason = blocking(session.get(PurposeDpia, purpose_id))
    return {"dpia": reason} if reason else {}
