"""API resource: the processors inventory, the DPIA gate of purposes and the register of processing."""

from __future__ import annotations

from typing import Any

from flask import Response, g, jsonify
from flask.typing import ResponseReturnValue

from sender.models import PurposeDpia
from sender.services.consent import purposes
from sender.services.records import audit, dpia, processors, register
from sender.web.api.inputs import parse_body, parse_query
from sender.web.api.schemas.records import DpiaInput, DpiaRequirementInput, ProcessorInput, RegisterQuery
from sender.web.api.spec import Component, nullable, obj
from sender.web.session import get_session, runtime

MEDIA = {"csv": "text/csv; charset=utf-8", "json": "application/json", "html": "text/html; charset=utf-8"}


def list_processors() -> ResponseReturnValue:
    """Every processor of the inventory, derived ones "to complete" included."""
    entries = processors.inventory(get_session(), runtime().settings)
    return jsonify({"items": [e.as_dict() for e in entries]})


def put_processor(key: str) -> ResponseReturnValue:
    """Record or replace the facts of one processor."""
    data = parse_body(ProcessorInput)
    session = get_session()
    processors.record(session, key, processors.Facts(**data.model_dump()), g.actor)
    return jsonify(processors.get(session, runtime().settings, key).as_dict())


def _dpia(slug: str, row: PurposeDpia) -> dict[str, Any]:
    return {
        "purpose": slug,
        "reasons": list(row.reasons or []),
        "reference": row.reference,
        "assessed_on": row.assessed_on.isoformat() if row.assessed_on else None,
        "outcome": row.outcome,
        "reviewer": row.reviewer,
        "blocking": dpia.blocking(row),
    }


def put_dpia_requirement(slug: str) -> ResponseReturnValue:
    """Mark a purpose as needing a DPIA, with the reasons."""
    data = parse_body(DpiaRequirementInput)
    return jsonify(_dpia(slug, dpia.require(get_session(), slug, data.reasons, g.actor)))


def put_dpia(slug: str) -> ResponseReturnValue:
    """Attach the DPIA record to a purpose."""
    data = parse_body(DpiaInput)
    assessment = dpia.Assessment(data.reference, data.assessed_on, data.outcome, data.reviewer)
    return jsonify(_dpia(slug, dpia.attach(get_session(), slug, assessment, g.actor)))


def get_dpia(slug: str) -> ResponseReturnValue:
    """The purpose's DPIA requirement and record."""
    session = get_session()
    purpose = purposes.get(session, slug)
    return jsonify(_dpia(slug, dpia.of(session, purpose) or PurposeDpia(reasons=[])))


def export_register() -> ResponseReturnValue:
    """The register of processing, generated now, as JSON, CSV or printable HTML; the export is audited."""
    fmt = parse_query(RegisterQuery).format
    session = get_session()
    text = register.export(register.build(session, runtime().settings), fmt)
    audit.record(session, g.actor, "register.export", "register", "register", {"format": fmt})
    name = f"register-of-processing.{fmt}"
    return Response(
        text, mimetype=MEDIA[fmt], headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


_TEXT = {"type": "string"}
PROCESSOR = Component(
    "Processor",
    obj(
        {
            "key": _TEXT,
            "name": _TEXT,
            "role": _TEXT,
            "country": nullable(_TEXT),
            "transfer_mechanism": nullable(_TEXT),
            "contract_ref": nullable(_TEXT),
            "since": nullable({"type": "string", "format": "date"}),
            "channel": nullable(_TEXT),
            "in_use": {"type": "boolean"},
            "outside_eea": {"type": "boolean"},
            "missing": {"type": "array", "items": _TEXT},
        },
        ["key", "name", "role", "country", "transfer_mechanism", "contract_ref", "since", "missing"],
    ),
)
DPIA = Component(
    "Dpia",
    obj(
        {
            "purpose": _TEXT,
            "reasons": {"type": "array", "items": _TEXT},
            "reference": nullable(_TEXT),
            "assessed_on": nullable({"type": "string", "format": "date"}),
            "outcome": nullable(_TEXT),
            "reviewer": nullable(_TEXT),
            "blocking": nullable({**_TEXT, "description": "Why its campaigns cannot start; null: they can."}),
        },
        ["purpose", "reasons", "reference", "assessed_on", "outcome", "reviewer", "blocking"],
    ),
)
