"""API resource: purposes (the Art. 30 register) and their versioned consent wordings."""

from __future__ import annotations

from typing import Any

from flask import g, jsonify, url_for
from flask.typing import ResponseReturnValue

from sender.services.consent import purposes
from sender.web.api import present as show
from sender.web.api.inputs import parse_body
from sender.web.api.schemas.purposes import PurposeInput, WordingInput
from sender.web.api.spec import TIMESTAMP, Component, fields_of, nullable, obj
from sender.web.session import get_session


def create_purpose() -> ResponseReturnValue:
    """Add a purpose to the register."""
    data = parse_body(PurposeInput).model_dump(exclude_unset=True)
    purpose = purposes.create(get_session(), data, g.actor)
    location = url_for("api.get_purpose", slug=purpose.slug)
    return jsonify(show.purpose(purpose)), 201, {"Location": location}


def list_purposes() -> ResponseReturnValue:
    """Every purpose of the register."""
    return jsonify({"items": [show.purpose(p) for p in purposes.all_purposes(get_session())]})


def get_purpose(slug: str) -> ResponseReturnValue:
    """One purpose."""
    return jsonify(show.purpose(purposes.get(get_session(), slug)))


def add_wording(slug: str) -> ResponseReturnValue:
    """Append a new wording version; versions are numbered by the server and never change."""
    data = parse_body(WordingInput).model_dump(exclude_unset=True)
    purpose, wording = purposes.add_wording(get_session(), slug, data, g.actor)
    return jsonify(show.wording(wording, purpose.slug)), 201


def list_wordings(slug: str) -> ResponseReturnValue:
    """Every wording version of a purpose, oldest first."""
    session = get_session()
    purpose = purposes.get(session, slug)
    return jsonify({"items": [show.wording(w, purpose.slug) for w in purposes.wordings(session, purpose)]})


_FIELDS: dict[str, Any] = fields_of(PurposeInput)
PURPOSE = Component("Purpose", obj({**_FIELDS, "created_at": TIMESTAMP}, [*_FIELDS, "created_at"]))
WORDING = Component(
    "Wording",
    obj(
        {
            "purpose": {"type": "string"},
            "version": {"type": "integer", "minimum": 1},
            "text": {"type": "string"},
            "privacy_notice_version": nullable({"type": "string"}),
            "created_at": TIMESTAMP,
        },
        ["purpose", "version", "text", "privacy_notice_version", "created_at"],
    ),
)
