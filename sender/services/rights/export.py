"""Data portability (GDPR Art. 20, R41): what the person gave us, as JSON (with a published schema) and CSV."""

from __future__ import annotations

import csv
import io
from typing import Any

from sqlalchemy.orm import Session

from sender.db import utcnow
from sender.enums import Channel, ConsentAction, EngagementClass, EngagementKind
from sender.models import Contact
from sender.services.engagement import retention as engagement_retention
from sender.services.rights.access import consent_history, personal_data

SCHEMA_PATH = "/schemas/export-v1.json"
_NULLABLE_TEXT = {"type": ["string", "null"]}
SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": SCHEMA_PATH,
    "title": "Personal data export (GDPR Art. 20)",
    "type": "object",
    "required": ["format", "generated_at", "personal_data", "consents"],
    "additionalProperties": False,
    "properties": {
        "format": {"const": "sender-export-v1"},
        "generated_at": {"type": "string", "format": "date-time"},
        "personal_data": {
            "type": "object",
            "required": ["id", "email", "phone", "first_name", "last_name", "locale", "country"],
            "properties": {
                "id": {"type": "string"},
                "email": _NULLABLE_TEXT,
                "phone": _NULLABLE_TEXT,
                "first_name": _NULLABLE_TEXT,
                "last_name": _NULLABLE_TEXT,
                "locale": _NULLABLE_TEXT,
                "country": _NULLABLE_TEXT,
                "timezone": _NULLABLE_TEXT,
                "attributes": {"type": "object"},
                "status": {"type": "string"},
                "created_at": {"type": "string", "format": "date-time"},
                "last_interaction_at": _NULLABLE_TEXT,
            },
        },
        "consents": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["purpose", "channel", "action", "occurred_at", "source", "mechanism"],
                "additionalProperties": False,
                "properties": {
                    "purpose": {"type": "string"},
                    "channel": {"enum": list(Channel)},
                    "action": {"enum": list(ConsentAction)},
                    "occurred_at": {"type": "string", "format": "date-time"},
                    "source": {"type": "string"},
                    "mechanism": {"type": "string"},
                    "wording_version": {"type": ["integer", "null"]},
                    "wording_text": _NULLABLE_TEXT,
                },
            },
        },
        "tracking": {
            "type": "array",
            "description": "Clicks and opens measured per person, with tracking consent.",
            "items": {
                "type": "object",
                "required": ["campaign", "kind", "classification", "occurred_at", "link"],
                "additionalProperties": False,
                "properties": {
                    "campaign": {"type": "string"},
                    "kind": {"enum": list(EngagementKind)},
                    "classification": {"enum": list(EngagementClass)},
                    "occurred_at": {"type": "string", "format": "date-time"},
                    "link": _NULLABLE_TEXT,
                },
            },
        },
    },
}
CSV_COLUMNS = (
    "record",
    "field",
    "value",
    "purpose",
    "channel",
    "occurred_at",
    "source",
    "mechanism",
    "wording_version",
)


def as_json(session: Session, contact: Contact) -> dict[str, Any]:
    """The export document, valid against SCHEMA."""
    return {
        "format": "sender-export-v1",
        "generated_at": utcnow().isoformat() + "Z",
        "personal_data": personal_data(contact),
        "consents": consent_history(session, contact),
        "tracking": engagement_retention.own_events(session, contact.id),
    }


def as_csv(session: Session, contact: Contact) -> str:
    """The same data as CSV with a header row: one row per field, then one per consent event."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for field, value in personal_data(contact).items():
        if field != "attributes":
            writer.writerow({"record": "contact", "field": field, "value": "" if value is None else value})
    for name, value in sorted((contact.attributes or {}).items()):
        writer.writerow({"record": "attribute", "field": name, "value": value})
    for event in consent_history(session, contact):
        writer.writerow(
            {
                "record": "consent",
                "field": "action",
                "value": event["action"],
                "purpose": event["purpose"],
                "channel": event["channel"],
                "occurred_at": event["occurred_at"],
                "source": event["source"],
                "mechanism": event["mechanism"],
                "wording_version": event["wording_version"] or "",
            }
        )
    for event in engagement_retention.own_events(session, contact.id):
        writer.writerow(
            {
                "record": "tracking",
                "field": event["kind"],
                "value": event["link"] or "",
                "occurred_at": event["occurred_at"],
                "source": event["campaign"],
            }
        )
    return out.getvalue()
