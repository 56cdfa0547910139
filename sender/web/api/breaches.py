"""API resource: the breach register (Art. 33-34) and its legal notices, on services.records.breaches."""

from __future__ import annotations

from typing import Any

from flask import g, jsonify
from flask.typing import ResponseReturnValue

from sender.models import BreachIncident
from sender.services.accounts import organisation
from sender.services.records import breach_notices, breaches
from sender.web.api.inputs import parse_body
from sender.web.api.present import ts
from sender.web.api.schemas.breaches import NoticeInput
from sender.web.api.schemas.requalifications import ApprovalInput
from sender.web.api.spec import ID, TIMESTAMP, Component, nullable, obj
from sender.web.session import get_session, runtime

_TEXT = {"type": "string"}
_COUNT = {"type": "integer", "minimum": 0}

INCIDENT = Component(
    "BreachIncident",
    obj(
        {
            "id": ID,
            "title": _TEXT,
            "facts": _TEXT,
            "data_categories": {"type": "array", "items": _TEXT},
            "people_affected": _COUNT,
            "records_affected": _COUNT,
            "likely_consequences": _TEXT,
            "measures_taken": _TEXT,
            "high_risk": {"type": "boolean"},
            "aware_at": TIMESTAMP,
            "deadline": TIMESTAMP,
            "notified_at": nullable(TIMESTAMP),
            "notification_reference": nullable(_TEXT),
            "late": {"type": "boolean"},
            "late_reasons": nullable(_TEXT),
        },
        ["id", "title", "aware_at", "deadline", "notified_at", "late"],
    ),
)
NOTICE = Component(
    "BreachNotice",
    obj(
        {
            "campaign_id": ID,
            "status": _TEXT,
            "approved_by": nullable(_TEXT),
            "approved_at": nullable(TIMESTAMP),
            "sent": _COUNT,
            "skipped": _COUNT,
        },
        ["campaign_id", "status", "approved_by", "approved_at", "sent", "skipped"],
    ),
)
NOTIFICATION = Component(
    "BreachNotification",
    obj(
        {
            "incident_id": ID,
            "title": _TEXT,
            "nature": _TEXT,
            "data_categories": {"type": "array", "items": _TEXT},
            "approximate_people_affected": _COUNT,
            "approximate_records_affected": _COUNT,
            "dpo_contact": _TEXT,
            "likely_consequences": _TEXT,
            "measures_taken": _TEXT,
            "high_risk": {"type": "boolean"},
            "aware_at": TIMESTAMP,
            "deadline": TIMESTAMP,
            "notified_at": nullable(TIMESTAMP),
            "notification_reference": nullable(_TEXT),
            "late": {"type": "boolean"},
            "late_reasons": nullable(_TEXT),
            "communications": {"type": "array", "items": NOTICE},
        },
        ["incident_id", "nature", "data_categories", "dpo_contact", "likely_consequences", "measures_taken"],
    ),
)


def present(incident: BreachIncident) -> dict[str, Any]:
    """An incident as JSON, with its deadline and whether its notification was late."""
    return {
        "id": incident.id,
        "title": incident.title,
        "facts": incident.facts,
        "data_categories": list(incident.data_categories),
        "people_affected": incident.people_affected,
        "records_affected": incident.records_affected,
        "likely_consequences": incident.likely_consequences,
        "measures_taken": incident.measures_taken,
        "high_risk": incident.high_risk,
        "aware_at": ts(incident.aware_at),
        "deadline": ts(breaches.deadline(incident)),
        "notified_at": ts(incident.notified_at),
        "notification_reference": incident.notification_reference,
        "late": breaches.is_late(incident),
        "late_reasons": incident.late_reasons,
    }


def create_incident() -> ResponseReturnValue:
    """Record an incident; its 72-hour deadline runs from aware_at."""
    body = parse_body(breaches.IncidentInput)
    return jsonify(present(breaches.create(get_session(), body, g.actor))), 201


def list_incidents() -> ResponseReturnValue:
    """Every incident, the most recent awareness first."""
    return jsonify({"items": [present(i) for i in breaches.all_incidents(get_session())]})


def get_incident(incident_id: int) -> ResponseReturnValue:
    """One incident."""
    return jsonify(present(breaches.get(get_session(), incident_id)))


def update_incident(incident_id: int) -> ResponseReturnValue:
    """Replace an incident's facts as they become known."""
    body = parse_body(breaches.IncidentInput)
    return jsonify(present(breaches.update(get_session(), incident_id, body, g.actor)))


def notify_incident(incident_id: int) -> ResponseReturnValue:
    """Record the notification to the authority; late ones need their reasons."""
    body = parse_body(breaches.NotificationInput)
    return jsonify(present(breaches.record_notification(get_session(), incident_id, body, g.actor)))


def export_notification(incident_id: int) -> ResponseReturnValue:
    """The Art. 33(3) notification content with the Art. 34 communications (audited)."""
    session = get_session()
    dpo = organisation.effective(session, runtime().settings).dpo_contact
    return jsonify(breach_notices.export(session, incident_id, dpo, g.actor, "json"))


def attach_notice(incident_id: int) -> ResponseReturnValue:
    """Record a draft legal notice as the incident's communication to the people affected."""
    body = parse_body(NoticeInput)
    session = get_session()
    breach_notices.attach(session, incident_id, body.campaign_id, g.actor)
    return jsonify({"items": breach_notices.communications(get_session(), incident_id)}), 201


def approve_notice(incident_id: int, campaign_id: int) -> ResponseReturnValue:
    """Record the DPO's approval of a legal notice's content as it stands."""
    body = parse_body(ApprovalInput)
    session = get_session()
    breach_notices.notice_of_incident(session, incident_id, campaign_id)
    breach_notices.approve(session, campaign_id, g.actor, body.note)
    return jsonify({"items": breach_notices.communications(get_session(), incident_id)})
