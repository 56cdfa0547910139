"""The register of rights requests (GDPR Art. 12(3)-(4), R39): one month to answer, extendable once."""

from __future__ import annotations

import calendar
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sender.db import utcnow
from sender.enums import RequestStatus, WebhookEvent
from sender.i18n import N_
from sender.models import Contact, RightsRequest
from sender.models.rights import REQUEST_CHANNELS, REQUEST_KINDS, REQUEST_STATUSES
from sender.services.errors import Conflict, NotFound, ValidationFailed
from sender.services.records import audit
from sender.services.webhooks import events

MAX_EXTENSION_MONTHS = 2
MAX_TEXT = 2000


def add_months(moment: datetime, months: int) -> datetime:
    """The same day `months` calendar months later, or that month's last day (31 Jan + 1 = 28/29 Feb)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def deadline(request: RightsRequest) -> datetime:
    """When the answer is due: the extended date if the request was extended, else one month."""
    return request.extended_due_at or request.due_at


def days_left(request: RightsRequest, at: datetime | None = None) -> int:
    """Whole days until the deadline (0 on its last day, negative once past it)."""
    return (deadline(request) - (at or utcnow())).days


def is_overdue(request: RightsRequest, at: datetime | None = None) -> bool:
    """Whether an open request is past its deadline."""
    return request.status == RequestStatus.OPEN and deadline(request) < (at or utcnow())


def _naive(value: Any, field: str, errors: dict[str, str]) -> datetime | None:
    """A datetime from an ISO 8601 string (or a datetime), as naive UTC; None when missing."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            errors[field] = N_("must be an ISO 8601 date and time")
            return None
    if not isinstance(value, datetime):
        errors[field] = N_("must be an ISO 8601 date and time")
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def _choice(data: Mapping[str, Any], name: str, allowed: tuple[str, ...], errors: dict[str, str]) -> None:
    if data.get(name) not in allowed:
        errors[name] = N_("must be one of %(choices)s", choices=", ".join(allowed))


def open_request(
    session: Session,
    *,
    kind: str,
    received_via: str,
    actor: str,
    contact: Contact | None = None,
    received_at: datetime | None = None,
) -> RightsRequest:
    """Register a request; its answer is due one calendar month after receipt (Art. 12(3))."""
    errors: dict[str, str] = {}
    _choice({"kind": kind}, "kind", REQUEST_KINDS, errors)
    _choice({"received_via": received_via}, "received_via", REQUEST_CHANNELS, errors)
    received = received_at or utcnow()
    if received > utcnow():
        errors["received_at"] = N_("cannot be in the future")
    if errors:
        raise ValidationFailed(errors)
    request = RightsRequest(
        contact_id=contact.id if contact is not None else None,
        kind=kind,
        received_via=received_via,
        received_at=received,
        due_at=add_months(received, 1),
        status=RequestStatus.OPEN,
        recorded_by=actor,
    )
    session.add(request)
    session.flush()
    audit.record(session, actor, "rights.request_open", "rights_request", request.public_id, {"kind": kind})
    _tell(session, WebhookEvent.RIGHTS_REQUEST_CREATED, request)
    return request


def _tell(session: Session, kind: WebhookEvent, request: RightsRequest) -> None:
    """The outgoing webhook of a request opened or closed: its public id, kind and the contact's public id."""
    contact = session.get(Contact, request.contact_id) if request.contact_id is not None else None
    payload = {
        "rights_request": request.public_id,
        "kind": request.kind,
        "status": request.status,
        "contact": contact.public_id if contact is not None else None,
    }
    events.emit(session, kind, payload, contact_id=request.contact_id)


def create_from(session: Session, data: Mapping[str, Any], actor: str) -> RightsRequest:
    """Register a request the DPO received by post, email or phone, from a JSON object."""
    fields = {"kind", "received_via", "received_at", "contact_id"}
    errors: dict[str, str] = {name: "unknown field" for name in sorted(set(data) - fields)}
    _choice(data, "kind", REQUEST_KINDS, errors)
    _choice(data, "received_via", REQUEST_CHANNELS, errors)
    received = _naive(data.get("received_at"), "received_at", errors)
    contact = None
    if data.get("contact_id") is not None:
        contact = session.scalar(select(Contact).where(Contact.public_id == data["contact_id"]))
        if contact is None:
            errors["contact_id"] = N_("no such contact")
    if errors:
        raise ValidationFailed(errors)
    return open_request(
        session,
        kind=data["kind"],
        received_via=data["received_via"],
        actor=actor,
        contact=contact,
        received_at=received,
    )


def get(session: Session, public_id: str) -> RightsRequest:
    """The request with this public id, or NotFound."""
    request = session.scalar(select(RightsRequest).where(RightsRequest.public_id == public_id))
    if request is None:
        raise NotFound(N_("no such request"))
    return request


def extend(session: Session, request: RightsRequest, data: Mapping[str, Any], actor: str) -> RightsRequest:
    """Extend the deadline by at most two months (Art. 12(3)): a reason, told to the person in month one."""
    errors: dict[str, str] = {
        name: "unknown field" for name in sorted(set(data) - {"months", "reason", "notified_at"})
    }
    months: Any = data.get("months")
    if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= MAX_EXTENSION_MONTHS:
        errors["months"] = N_(
            "must be 1 or %(max_extension_months)s", max_extension_months=MAX_EXTENSION_MONTHS
        )
    reason = data.get("reason")
    if not isinstance(reason, str) or not reason.strip() or len(reason) > MAX_TEXT:
        errors["reason"] = N_(
            "is required: the reasons given to the person (at most %(n)d characters)",
            n=MAX_TEXT,
        )
    notified = _naive(data.get("notified_at"), "notified_at", errors)
    if notified is None and "notified_at" not in errors:
        errors["notified_at"] = N_("is required: when the person was told of the extension and its reasons")
    elif notified is not None and not request.received_at <= notified <= request.due_at:
        errors["notified_at"] = N_("the person must be told within the first month after receipt")
    if request.status != RequestStatus.OPEN:
        raise Conflict(N_("the request is %(status)s", status=request.status))
    if request.extended_due_at is not None:
        raise Conflict(N_("the request was already extended"))
    if errors:
        raise ValidationFailed(errors)
    request.extended_due_at = add_months(request.due_at, int(months))
    request.extension_reason = str(reason).strip()
    request.extension_notified_at = notified
    session.flush()
    audit.record(
        session, actor, "rights.request_extend", "rights_request", request.public_id, {"months": months}
    )
    return request


def close(session: Session, request: RightsRequest, status: Any, outcome: Any, actor: str) -> RightsRequest:
    """Record the answer: completed or refused, with what was done (or why not)."""
    errors: dict[str, str] = {}
    if status not in (RequestStatus.COMPLETED, RequestStatus.REFUSED):
        errors["status"] = N_("must be completed or refused")
    if not isinstance(outcome, str) or not outcome.strip() or len(outcome) > MAX_TEXT:
        errors["outcome"] = N_(
            "is required: what was done, or why not (at most %(n)d characters)", n=MAX_TEXT
        )
    if errors:
        raise ValidationFailed(errors)
    if request.status != RequestStatus.OPEN:
        raise Conflict(N_("the request is already %(status)s", status=request.status))
    request.status, request.outcome, request.closed_at = str(status), str(outcome).strip(), utcnow()
    session.flush()
    audit.record(
        session, actor, "rights.request_close", "rights_request", request.public_id, {"status": status}
    )
    _tell(session, WebhookEvent.RIGHTS_REQUEST_CLOSED, request)
    return request


def record_completed(
    session: Session, contact: Contact, kind: str, outcome: str, actor: str
) -> RightsRequest:
    """A request made and answered at once in the privacy portal, kept in the register all the same."""
    request = open_request(session, kind=kind, received_via="portal", actor=actor, contact=contact)
    return close(session, request, RequestStatus.COMPLETED, outcome, actor)


def listing(session: Session, status: str | None = None, overdue: bool = False) -> list[RightsRequest]:
    """Requests, oldest deadline first; optionally only one status, or only the overdue ones."""
    if status is not None and status not in REQUEST_STATUSES:
        raise ValidationFailed(
            {"status": N_("must be one of %(choices)s", choices=", ".join(REQUEST_STATUSES))}
        )
    stmt = select(RightsRequest)
    if status is not None:
        stmt = stmt.where(RightsRequest.status == status)
    if overdue:
        effective = func.coalesce(RightsRequest.extended_due_at, RightsRequest.due_at)
        stmt = stmt.where(RightsRequest.status == RequestStatus.OPEN, effective < utcnow())
    return list(session.scalars(stmt.order_by(RightsRequest.due_at, RightsRequest.id)))


def for_contact(session: Session, contact_id: int) -> list[RightsRequest]:
    """Every request linked to a contact, oldest first."""
    return list(
        session.scalars(
            select(RightsRequest)
            .where(RightsRequest.contact_id == contact_id)
            .order_by(RightsRequest.received_at, RightsRequest.id)
        )
    )


# The register's columns in its CSV export: the register holds no personal data, and neither does this.
EXPORT_FIELDS = (
    "request_id",
    "kind",
    "received_via",
    "received_at",
    "deadline",
    "days_left",
    "extended",
    "status",
    "closed_at",
)


def export_rows(session: Session, status: str | None = None, overdue: bool = False) -> Iterator[list[Any]]:
    """The filtered register as CSV rows, in the order of `listing`."""
    now = utcnow()
    for request in listing(session, status, overdue):
        yield [
            request.public_id,
            request.kind,
            request.received_via,
            request.received_at,
            deadline(request),
            days_left(request, now) if request.status == RequestStatus.OPEN else None,
            "yes" if request.extended_due_at is not None else "no",
            request.status,
            request.closed_at,
        ]
