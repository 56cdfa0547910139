"""API resource: proof of honouring (R77) and proof of consent (R2), on services.records.honouring."""

from __future__ import annotations

from flask import g, jsonify
from flask.typing import ResponseReturnValue

from sender.services.audience.contacts import get_by_public_id
from sender.services.records import honouring
from sender.web.api.inputs import parse_query
from sender.web.api.schemas.breaches import PeriodQuery
from sender.web.api.spec import TIMESTAMP, Component, nullable, obj
from sender.web.session import get_session

_TEXT = {"type": "string"}
_COUNT = {"type": "integer", "minimum": 0}

MESSAGE_AFTER = Component(
    "MessageAfterWithdrawal",
    obj(
        {
            "delivery_id": {"type": "integer"},
            "campaign_id": {"type": "integer"},
            "contact": _TEXT,
            "claimed_at": nullable(TIMESTAMP),
            "left_at": TIMESTAMP,
            "verdict": {
                "type": "string",
                "enum": ["in_flight", "exception"],
                "description": "in_flight: claimed (consent re-checked) before the withdrawal, with the relay "
                "as it happened; exception: claimed after it.",
            },
        },
        ["delivery_id", "campaign_id", "contact", "claimed_at", "left_at", "verdict"],
    ),
)
CONTACT_HONOURING = Component(
    "ContactHonouring",
    obj(
        {
            "contact": _TEXT,
            "withdrawals": {
                "type": "array",
                "items": obj(
                    {
                        "kind": {"type": "string", "enum": ["opt_out", "objection", "complaint", "stop"]},
                        "purpose": _TEXT,
                        "channel": _TEXT,
                        "occurred_at": TIMESTAMP,
                        "source": _TEXT,
                        "marketing_after": {"type": "array", "items": MESSAGE_AFTER},
                    },
                    ["kind", "purpose", "channel", "occurred_at", "source", "marketing_after"],
                ),
            },
            "exceptions": _COUNT,
        },
        ["contact", "withdrawals", "exceptions"],
    ),
)
PERIOD_HONOURING = Component(
    "PeriodHonouring",
    obj(
        {
            "since": TIMESTAMP,
            "until": TIMESTAMP,
            "withdrawals": _COUNT,
            "marketing_after_withdrawal": _COUNT,
            "in_flight": _COUNT,
            "exceptions": {"type": "array", "items": MESSAGE_AFTER},
        },
        ["since", "until", "withdrawals", "marketing_after_withdrawal", "in_flight", "exceptions"],
    ),
)
CONSENT_PROOF = Component(
    "ConsentProof",
    obj(
        {
            "contact": _TEXT,
            "events": {
                "type": "array",
                "items": obj(
                    {
                        "purpose": _TEXT,
                        "channel": _TEXT,
                        "action": _TEXT,
                        "occurred_at": TIMESTAMP,
                        "collection_point": nullable(_TEXT),
                        "wording_version": nullable({"type": "integer"}),
                        "wording_text": nullable(_TEXT),
                        "privacy_notice_version": nullable(_TEXT),
                        "mechanism": _TEXT,
                        "source": _TEXT,
                        "double_opt_in_confirmation": {"type": "boolean"},
                        "actor": _TEXT,
                        "expires_at": nullable(TIMESTAMP),
                        "evidence": {"type": "object"},
                    },
                    ["purpose", "channel", "action", "occurred_at", "wording_text", "mechanism", "source"],
                ),
            },
        },
        ["contact", "events"],
    ),
)


def contact_honouring(public_id: str) -> ResponseReturnValue:
    """One person's withdrawals and the marketing messages that left after each (audited)."""
    session = get_session()
    contact = get_by_public_id(session, public_id)
    return jsonify(honouring.contact_report(session, contact, g.actor, "json"))


def contact_consent_proof(public_id: str) -> ResponseReturnValue:
    """Every R2 field of one person's consent events, with the wording as shown (audited)."""
    session = get_session()
    contact = get_by_public_id(session, public_id)
    return jsonify(honouring.consent_proof(session, contact, g.actor, "json"))


def period_honouring() -> ResponseReturnValue:
    """Marketing messages sent after the withdrawals of a period, each exception listed (audited)."""
    since, until = parse_query(PeriodQuery).bounds()
    return jsonify(honouring.period_report(get_session(), since, until, g.actor, "json"))
