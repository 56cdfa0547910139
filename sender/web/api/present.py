"""JSON shapes of the API's records: public ids only, UTC timestamps in ISO 8601 with a trailing Z."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sender.enums import ContactStatus
from sender.models import ConsentEvent, ConsentState, ConsentWording, Contact, Purpose
from sender.services.audience.lists import ListSummary, MembershipChange
from sender.services.consent.expiry import has_lapsed


def ts(value: datetime | None) -> str | None:
    """A stored naive-UTC datetime as ISO 8601 with a Z."""
    if value is None:
        return None
    return value.replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def purpose(p: Purpose) -> dict[str, Any]:
    """A purpose as a register entry."""
    return {
        "slug": p.slug,
        "name": p.name,
        "description": p.description,
        "legal_basis": p.legal_basis,
        "kind": p.kind,
        "retention_days": p.retention_days,
        "consent_validity_days": p.consent_validity_days,
        "requires_double_opt_in": p.requires_double_opt_in,
        "data_categories": list(p.data_categories or []),
        "processors": list(p.processors or []),
        "transfers": list(p.transfers or []),
        "created_at": ts(p.created_at),
    }


def wording(w: ConsentWording, purpose_slug: str) -> dict[str, Any]:
    """One immutable version of a consent wording."""
    return {
        "purpose": purpose_slug,
        "version": w.version,
        "text": w.text,
        "privacy_notice_version": w.privacy_notice_version,
        "created_at": ts(w.created_at),
    }


def contact(c: Contact) -> dict[str, Any]:
    """A contact by its public id; an erased contact shows no personal data at all."""
    erased = c.status == ContactStatus.ERASED

    def personal(value: Any) -> Any:
        return None if erased else value

    return {
        "id": c.public_id,
        "status": c.status,
        "email": personal(c.email),
        "phone": personal(c.phone),
        "first_name": personal(c.first_name),
        "last_name": personal(c.last_name),
        "locale": personal(c.locale),
        "country": personal(c.country),
        "timezone": personal(c.timezone),
        "attributes": {} if erased else dict(c.attributes or {}),
        "source": c.source,
        "source_detail": personal(c.source_detail),
        "is_legacy": c.is_legacy,
        "last_interaction_at": ts(c.last_interaction_at),
        "created_at": ts(c.created_at),
        "updated_at": ts(c.updated_at),
        "erased_at": ts(c.erased_at),
    }


def consent_event(e: ConsentEvent, purpose_slug: str, w: ConsentWording | None) -> dict[str, Any]:
    """A consent event with every proof field (Art. 7(1))."""
    return {
        "purpose": purpose_slug,
        "channel": e.channel,
        "action": e.action,
        "occurred_at": ts(e.occurred_at),
        "source": e.source,
        "mechanism": e.mechanism,
        "wording_version": w.version if w else None,
        "wording_text": w.text if w else None,
        "privacy_notice_version": w.privacy_notice_version if w else None,
        "collection_point": e.collection_point,
        "actor": e.actor,
        "evidence": dict(e.evidence or {}),
        "expires_at": ts(e.expires_at),
    }


def consent_state(s: ConsentState, purpose_slug: str, now: datetime) -> dict[str, Any]:
    """The current state for one purpose and channel; a lapsed grant reads as expired."""
    status = "expired" if has_lapsed(s.status, s.expires_at, now) else s.status
    return {
        "purpose": purpose_slug,
        "channel": s.channel,
        "status": status,
        "since": ts(s.since),
        "expires_at": ts(s.expires_at),
    }


def contact_list(summary: ListSummary) -> dict[str, Any]:
    """A list with its member count."""
    lst = summary.list
    return {
        "id": lst.id,
        "name": lst.name,
        "description": lst.description,
        "member_count": summary.member_count,
        "created_at": ts(lst.created_at),
    }


def membership_change(change: MembershipChange, changed: str, unchanged: str) -> dict[str, Any]:
    """Counts of a bulk membership change, e.g. requested / added / already_members."""
    return {
        "requested": change.requested,
        changed: change.changed,
        unchanged: change.requested - change.changed,
    }
