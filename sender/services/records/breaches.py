"""The breach register (Art. 33-34, R74): incidents, their 72-hour clock, the notification and its export.

The deadline is `aware_at + 72 h` computed in UTC, where every hour lasts an hour: a clock change in the
organisation's zone moves the local time it is shown at, never the deadline itself. A notification
recorded after the deadline must give its reasons (Art. 33(1)). Every edit and export is audited with ids
only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.db import utcnow
from sender.i18n import N_
from sender.models import BreachIncident
from sender.services.errors import NotFound, ValidationFailed
from sender.services.input import Input, NonBlank, Text
from sender.services.records import audit

# Art. 33(1): "without undue delay and, where feasible, not later than 72 hours after having become aware".
NOTIFY_WITHIN = timedelta(hours=72)
TITLE_LIMIT = 200
TEXT_LIMIT = 20_000
CATEGORY_LIMIT = 100
REFERENCE_LIMIT = 200
# Approximate numbers of people and records: bounded so a typo cannot overflow the column.
COUNT_LIMIT = 2_000_000_000


def _naive_utc(moment: datetime) -> datetime:
    """The stored form of a moment: naive UTC."""
    return moment.astimezone(UTC).replace(tzinfo=None)


class IncidentInput(Input):
    """An incident as recorded or edited: the facts, effects and remediation (Art. 33(3), 33(5))."""

    title: Annotated[NonBlank, Field(max_length=TITLE_LIMIT)]
    facts: Annotated[NonBlank, Field(max_length=TEXT_LIMIT, description="The nature of the breach.")]
    data_categories: Annotated[
        list[Annotated[NonBlank, Field(max_length=CATEGORY_LIMIT)]], Field(max_length=50)
    ] = []
    people_affected: Annotated[int, Field(ge=0, le=COUNT_LIMIT, description="Approximate number.")] = 0
    records_affected: Annotated[int, Field(ge=0, le=COUNT_LIMIT, description="Approximate number.")] = 0
    likely_consequences: Annotated[Text, Field(max_length=TEXT_LIMIT)] = ""
    measures_taken: Annotated[Text, Field(max_length=TEXT_LIMIT)] = ""
    high_risk: bool = False
    aware_at: Annotated[
        AwareDatetime,
        Field(strict=False, description="When the organisation became aware (ISO 8601 with its offset)."),
    ]

    messages = {"aware_at": "must be an ISO 8601 date and time with its UTC offset"}


class NotificationInput(Input):
    """The notification to the supervisory authority, as recorded."""

    notified_at: Annotated[
        AwareDatetime, Field(strict=False, description="When the authority was notified (ISO 8601, offset).")
    ]
    reference: Annotated[Text, Field(max_length=REFERENCE_LIMIT)] = ""
    late_reasons: Annotated[
        Text, Field(max_length=TEXT_LIMIT, description="Required when notified after the 72-hour deadline.")
    ] = ""

    messages = {"notified_at": "must be an ISO 8601 date and time with its UTC offset"}


def deadline(incident: BreachIncident) -> datetime:
    """When the authority must have been notified (naive UTC): 72 elapsed hours after awareness."""
    return incident.aware_at + NOTIFY_WITHIN


def is_late(incident: BreachIncident) -> bool:
    """Whether the recorded notification came after the deadline."""
    return incident.notified_at is not None and incident.notified_at > deadline(incident)


def get(session: Session, incident_id: int) -> BreachIncident:
    """One incident, or NotFound."""
    incident = session.get(BreachIncident, incident_id)
    if incident is None:
        raise NotFound(N_("no such incident"))
    return incident


def all_incidents(session: Session) -> list[BreachIncident]:
    """Every incident, the most recent awareness first."""
    return list(session.scalars(select(BreachIncident).order_by(BreachIncident.aware_at.desc())))


def _apply(incident: BreachIncident, data: IncidentInput) -> None:
    incident.title = data.title.strip()
    incident.facts = data.facts
    incident.data_categories = [c.strip() for c in data.data_categories]
    incident.people_affected = data.people_affected
    incident.records_affected = data.records_affected
    incident.likely_consequences = data.likely_consequences
    incident.measures_taken = data.measures_taken
    incident.high_risk = data.high_risk
    incident.aware_at = _naive_utc(data.aware_at)


def _not_future(moment: datetime, field: str, now: datetime) -> None:
    if _naive_utc(moment) > now + timedelta(minutes=5):
        raise ValidationFailed({field: N_("cannot be in the future")})


def create(session: Session, data: IncidentInput, actor: str, now: datetime | None = None) -> BreachIncident:
    """Record a new incident; its 72-hour clock runs from `aware_at`."""
    _not_future(data.aware_at, "aware_at", now or utcnow())
    incident = BreachIncident(recorded_by=actor)
    _apply(incident, data)
    session.add(incident)
    session.flush()
    audit.record(session, actor, "breach.create", "breach", incident.id)
    return incident


def update(
    session: Session, incident_id: int, data: IncidentInput, actor: str, now: datetime | None = None
) -> BreachIncident:
    """Edit an incident's facts as they become known (Art. 33(4): information may come in phases)."""
    incident = get(session, incident_id)
    _not_future(data.aware_at, "aware_at", now or utcnow())
    _apply(incident, data)
    if incident.notified_at is not None and is_late(incident) and not (incident.late_reasons or "").strip():
        raise ValidationFailed(
            {"aware_at": N_("this moment makes the recorded notification late; record its reasons first")}
        )
    session.flush()
    audit.record(session, actor, "breach.update", "breach", incident.id)
    return incident


def record_notification(
    session: Session, incident_id: int, data: NotificationInput, actor: str, now: datetime | None = None
) -> BreachIncident:
    """Record when the authority was notified; after the deadline, the reasons for the delay are required."""
    incident = get(session, incident_id)
    _not_future(data.notified_at, "notified_at", now or utcnow())
    notified_at = _naive_utc(data.notified_at)
    errors: dict[str, str] = {}
    if notified_at < incident.aware_at:
        errors["notified_at"] = N_("cannot be before the moment of awareness")
    elif notified_at > deadline(incident) and not data.late_reasons.strip():
        # Art. 33(1): a notification made after 72 hours "shall be accompanied by reasons for the delay".
        errors["late_reasons"] = N_(
            "the notification is %(late)s past the 72-hour deadline (%(deadline)sZ): give the reasons for the delay (Art. 33(1))",
            late=_hours(notified_at - deadline(incident)),
            deadline=deadline(incident).isoformat(),
        )
    if errors:
        raise ValidationFailed(errors)
    incident.notified_at = notified_at
    incident.notification_reference = data.reference.strip() or None
    incident.late_reasons = data.late_reasons.strip() or None
    session.flush()
    audit.record(
        session, actor, "breach.notify", "breach", incident.id, {"late": notified_at > deadline(incident)}
    )
    return incident


def _hours(delta: timedelta) -> str:
    hours = int(delta.total_seconds() // 3600)
    minutes = int(delta.total_seconds() % 3600 // 60)
    return f"{hours} h {minutes:02d} min"


def overdue(session: Session, now: datetime | None = None) -> list[BreachIncident]:
    """Unnotified incidents whose deadline has passed."""
    limit = (now or utcnow()) - NOTIFY_WITHIN
    return list(
        session.scalars(
            select(BreachIncident)
            .where(BreachIncident.notified_at.is_(None), BreachIncident.aware_at < limit)
            .order_by(BreachIncident.aware_at)
        )
    )


@dataclass(frozen=True)
class Countdown:
    """An unnotified incident's deadline, in UTC and in the organisation's zone, and the time left."""

    incident_id: int
    title: str
    deadline_utc: datetime
    deadline_local: datetime
    seconds_left: int

    @property
    def overdue(self) -> bool:
        """Whether the deadline has passed."""
        return self.seconds_left < 0

    @property
    def left(self) -> str:
        """The time left (or past) as hours and minutes."""
        return _hours(timedelta(seconds=abs(self.seconds_left)))


def countdown(incident: BreachIncident, zone: ZoneInfo, now: datetime) -> Countdown:
    """The incident's countdown: computed in UTC, the deadline shown in `zone`."""
    due = deadline(incident)
    return Countdown(
        incident_id=incident.id,
        title=incident.title,
        deadline_utc=due,
        deadline_local=due.replace(tzinfo=UTC).astimezone(zone),
        seconds_left=int((due - now).total_seconds()),
    )


def countdowns(session: Session, zone: ZoneInfo, now: datetime | None = None) -> list[Countdown]:
    """The countdowns of every unnotified incident, the nearest deadline first."""
    now = now or utcnow()
    rows = session.scalars(
        select(BreachIncident).where(BreachIncident.notified_at.is_(None)).order_by(BreachIncident.aware_at)
    )
    return [countdown(incident, zone, now) for incident in rows]


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() + "Z" if moment is not None else None


def notification(incident: BreachIncident, dpo_contact: str) -> dict[str, Any]:
    """The Art. 33(3) content of the notification, plus the clock: what the authority's form asks for."""
    return {
        "incident_id": incident.id,
        "title": incident.title,
        "nature": incident.facts,
        "data_categories": list(incident.data_categories),
        "approximate_people_affected": incident.people_affected,
        "approximate_records_affected": incident.records_affected,
        "dpo_contact": dpo_contact,
        "likely_consequences": incident.likely_consequences,
        "measures_taken": incident.measures_taken,
        "high_risk": incident.high_risk,
        "aware_at": _iso(incident.aware_at),
        "deadline": _iso(deadline(incident)),
        "notified_at": _iso(incident.notified_at),
        "notification_reference": incident.notification_reference,
        "late": is_late(incident),
        "late_reasons": incident.late_reasons,
    }


def export(session: Session, incident_id: int, dpo_contact: str, actor: str, fmt: str) -> dict[str, Any]:
    """The notification content of one incident, the export audited (ids and format only)."""
    incident = get(session, incident_id)
    audit.record(session, actor, "breach.export", "breach", incident.id, {"format": fmt})
    return notification(incident, dpo_contact)
